//! The simulated payment cluster (filled in by the simulator work).
