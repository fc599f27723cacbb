//! Versioned KV (`/api/secrets`): filled in below.
