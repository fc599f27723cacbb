//! Secrets Safe secrets end to end (see the secrets helper's brief).
