//! A shell step's process: an argv (no shell), its own process group,
//! killed with every child at its timeout, output captured up to a bound.
