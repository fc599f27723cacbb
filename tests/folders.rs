//! Secrets Safe folders end to end (see the folders helper's brief).
