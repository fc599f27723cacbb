//! Secrets Safe safes end to end (see the safes helper's brief).
