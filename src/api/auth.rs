//! Work in progress (step 11).
