//! TEMPORARY stub until the model lands (helper writing it).
pub mod topology;
