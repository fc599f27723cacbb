//! Token digests, file hashes and random tokens, free of Spin calls.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 keyed with a 32-byte vault key. HMAC pads short keys with zeros to the
/// 64-byte block, so padding here is the same MAC without a fallible constructor.
pub fn hmac_sha256(key: &[u8; 32]) -> HmacSha256 {
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(key);
    <HmacSha256 as KeyInit>::new(&(*block).into())
}

/// HMAC-SHA256 of `token` under the vault's digest key, lower-case hex. Tokens are
/// stored and looked up only by this value, so a stolen database does not yield
/// usable credentials, and without the key the digests cannot be brute-forced offline.
pub fn token_digest(key: &[u8; 32], token: &str) -> String {
    let mut mac = hmac_sha256(key);
    mac.update(token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// SHA-256 of `data`, upper-case hex, as Password Safe reports a file's `FileHash`.
pub fn sha256_upper_hex(data: &[u8]) -> String {
    hex::encode_upper(Sha256::digest(data))
}

/// Random tokens are between these sizes whatever is asked: the WIT function cannot
/// fail, and neither a guessable token nor an allocation that traps is acceptable.
pub const MIN_TOKEN_BYTES: u32 = 16;
pub const MAX_TOKEN_BYTES: u32 = 1024;

pub fn token_len(requested: u32) -> usize {
    // At most 1024, so it fits any usize.
    requested.clamp(MIN_TOKEN_BYTES, MAX_TOKEN_BYTES) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_digest_is_keyed_lower_hex() {
        let a = token_digest(&[1; 32], "api-key");
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_eq!(a, token_digest(&[1; 32], "api-key"));
        assert_ne!(a, token_digest(&[2; 32], "api-key"));
        assert_ne!(a, token_digest(&[1; 32], "api-key2"));
    }

    #[test]
    fn token_digest_matches_rfc_4231_case_2_shape() {
        // RFC 4231 test case 2 uses a 4-byte key; HMAC pads keys with zeros to the block
        // size, so the same key zero-padded to 32 bytes gives the same MAC.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            token_digest(&key, "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn sha256_is_upper_hex() {
        assert_eq!(
            sha256_upper_hex(b"abc"),
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        );
    }

    #[test]
    fn token_length_is_clamped() {
        assert_eq!(token_len(0), 16);
        assert_eq!(token_len(32), 32);
        assert_eq!(token_len(u32::MAX), 1024);
    }
}
