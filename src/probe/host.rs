//! host probe (work in progress in this step).
