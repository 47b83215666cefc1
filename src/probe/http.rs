//! http probe (work in progress in this step).
