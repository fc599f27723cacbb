//! The keyring (DESIGN.md section 5), free of Spin calls: the term-numbered data keys
//! that seal values, and the system keys (token digest key, audit key). Only the
//! keyring is wrapped by the key-encryption key, so rotating the KEK re-wraps this one
//! small blob and never touches a value.
//!
//! Plaintext layout, version 1 (all big-endian):
//!
//! | bytes | field |
//! | --- | --- |
//! | 1 | layout version (1) |
//! | 32 | token digest key |
//! | 32 | audit key |
//! | 4 | number of terms, n >= 1 |
//! | n x 44 | term (4), created at (8, Unix seconds), data key (32), by ascending term |
//!
//! Wrapped: a 12-byte nonce, then the AES-256-GCM ciphertext of the plaintext, with
//! the wrapping KEK's id as associated data (a keyring cannot be relabelled to another
//! KEK).

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, Nonce, Payload};
use aes_gcm::Aes256Gcm;
use zeroize::Zeroizing;

use crate::envelope::{push_field, Kek, SecretKey, Term, KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::error::VaultError;

const LAYOUT_V1: u8 = 1;
const TERM_ENTRY_LEN: usize = 4 + 8 + KEY_LEN;
const FIXED_LEN: usize = 1 + 2 * KEY_LEN + 4;
const WRAP_DOMAIN: &[u8] = b"edgesafe:keyring:v1";

/// One data key and when it was made.
pub struct TermKey {
    pub created_at: i64,
    pub key: SecretKey,
}

pub struct Keyring {
    digest_key: SecretKey,
    audit_key: SecretKey,
    /// Never empty; the last entry is the newest term, which seals new values.
    terms: BTreeMap<Term, TermKey>,
}

impl Keyring {
    /// A keyring whose term 1 is `first_data_key`.
    pub fn new(
        digest_key: SecretKey,
        audit_key: SecretKey,
        first_data_key: SecretKey,
        now: i64,
    ) -> Self {
        let mut terms = BTreeMap::new();
        terms.insert(
            1,
            TermKey {
                created_at: now,
                key: first_data_key,
            },
        );
        Keyring {
            digest_key,
            audit_key,
            terms,
        }
    }

    pub fn digest_key(&self) -> &SecretKey {
        &self.digest_key
    }

    pub fn audit_key(&self) -> &SecretKey {
        &self.audit_key
    }

    /// The term that seals new values, and its key.
    pub fn newest(&self) -> (Term, &TermKey) {
        let (term, key) = self
            .terms
            .last_key_value()
            .expect("a keyring always has a term");
        (*term, key)
    }

    pub fn term(&self, term: Term) -> Option<&TermKey> {
        self.terms.get(&term)
    }

    /// Every term, oldest first, with when it was made.
    pub fn terms(&self) -> impl Iterator<Item = (Term, i64)> + '_ {
        self.terms.iter().map(|(t, k)| (*t, k.created_at))
    }

    /// Adds the term after the newest, sealed by `data_key`; returns its number.
    pub fn add_term(&mut self, data_key: SecretKey, now: i64) -> Result<Term, VaultError> {
        let term = self
            .newest()
            .0
            .checked_add(1)
            .ok_or_else(|| VaultError::io("keyring terms exhausted"))?;
        self.terms.insert(
            term,
            TermKey {
                created_at: now,
                key: data_key,
            },
        );
        Ok(term)
    }

    fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(
            FIXED_LEN + self.terms.len() * TERM_ENTRY_LEN,
        ));
        out.push(LAYOUT_V1);
        out.extend_from_slice(self.digest_key.as_slice());
        out.extend_from_slice(self.audit_key.as_slice());
        out.extend_from_slice(&(self.terms.len() as u32).to_be_bytes());
        for (term, key) in &self.terms {
            out.extend_from_slice(&term.to_be_bytes());
            out.extend_from_slice(&key.created_at.to_be_bytes());
            out.extend_from_slice(key.key.as_slice());
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, VaultError> {
        // The bytes passed authentication, so a bad layout is our bug or a future
        // version; either way nothing can be read from it.
        let bad = || VaultError::io("the keyring has an unknown layout");
        if bytes.len() < FIXED_LEN || bytes[0] != LAYOUT_V1 {
            return Err(bad());
        }
        let key_at = |at: usize| -> Result<SecretKey, VaultError> {
            let key: [u8; KEY_LEN] = bytes
                .get(at..at + KEY_LEN)
                .and_then(|k| k.try_into().ok())
                .ok_or_else(bad)?;
            Ok(Zeroizing::new(key))
        };
        let count = u32::from_be_bytes(bytes[65..69].try_into().map_err(|_| bad())?) as usize;
        if count == 0 || bytes.len() != FIXED_LEN + count * TERM_ENTRY_LEN {
            return Err(bad());
        }
        let mut terms = BTreeMap::new();
        for entry in bytes[FIXED_LEN..].chunks_exact(TERM_ENTRY_LEN) {
            let term = Term::from_be_bytes(entry[0..4].try_into().map_err(|_| bad())?);
            let created_at = i64::from_be_bytes(entry[4..12].try_into().map_err(|_| bad())?);
            let key: [u8; KEY_LEN] = entry[12..].try_into().map_err(|_| bad())?;
            let key = Zeroizing::new(key);
            if term == 0 || terms.insert(term, TermKey { created_at, key }).is_some() {
                return Err(bad());
            }
        }
        Ok(Keyring {
            digest_key: key_at(1)?,
            audit_key: key_at(1 + KEY_LEN)?,
            terms,
        })
    }

    /// The keyring encrypted under `kek`; `nonce` must be fresh for every call.
    pub fn wrap(&self, kek: &Kek, nonce: [u8; NONCE_LEN]) -> Result<Vec<u8>, VaultError> {
        let sealed = kek
            .cipher()
            .encrypt(
                &Nonce::<Aes256Gcm>::from(nonce),
                Payload {
                    msg: self.encode().as_slice(),
                    aad: &wrap_aad(kek),
                },
            )
            .map_err(|_| VaultError::io("cannot wrap the keyring"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a keyring wrapped by `kek`: `Tampered` when it was wrapped by another KEK
    /// or edited.
    pub fn unwrap(kek: &Kek, wrapped: &[u8]) -> Result<Self, VaultError> {
        if wrapped.len() < NONCE_LEN + TAG_LEN {
            return Err(VaultError::Tampered);
        }
        let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| VaultError::Tampered)?;
        let plain = Zeroizing::new(
            kek.cipher()
                .decrypt(
                    &Nonce::<Aes256Gcm>::from(nonce),
                    Payload {
                        msg: sealed,
                        aad: &wrap_aad(kek),
                    },
                )
                .map_err(|_| VaultError::Tampered)?,
        );
        Self::decode(&plain)
    }
}

fn wrap_aad(kek: &Kek) -> Vec<u8> {
    let mut aad = WRAP_DOMAIN.to_vec();
    push_field(&mut aad, kek.id().as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(fill: u8) -> SecretKey {
        Zeroizing::new([fill; KEY_LEN])
    }

    fn ring() -> Keyring {
        Keyring::new(key(0xd1), key(0xa1), key(1), 1_000)
    }

    fn nonce() -> [u8; NONCE_LEN] {
        crate::random::array().unwrap()
    }

    #[test]
    fn wraps_and_unwraps_with_every_term() {
        let kek = Kek::from_bytes([9; KEY_LEN]);
        let mut ring = ring();
        assert_eq!(ring.add_term(key(2), 2_000), Ok(2));
        assert_eq!(ring.add_term(key(3), 3_000), Ok(3));
        let back = Keyring::unwrap(&kek, &ring.wrap(&kek, nonce()).unwrap()).unwrap();
        assert_eq!(back.digest_key().as_slice(), &[0xd1; KEY_LEN]);
        assert_eq!(back.audit_key().as_slice(), &[0xa1; KEY_LEN]);
        assert_eq!(
            back.terms().collect::<Vec<_>>(),
            vec![(1, 1_000), (2, 2_000), (3, 3_000)]
        );
        assert_eq!(back.newest().0, 3);
        assert_eq!(back.term(2).map(|k| k.key[0]), Some(2));
        assert!(back.term(4).is_none());
    }

    #[test]
    fn another_kek_does_not_open_it() {
        let wrapped = ring()
            .wrap(&Kek::from_bytes([9; KEY_LEN]), nonce())
            .unwrap();
        assert!(matches!(
            Keyring::unwrap(&Kek::from_bytes([8; KEY_LEN]), &wrapped),
            Err(VaultError::Tampered)
        ));
    }

    #[test]
    fn every_flipped_or_missing_byte_fails() {
        let kek = Kek::from_bytes([9; KEY_LEN]);
        let wrapped = ring().wrap(&kek, nonce()).unwrap();
        for i in 0..wrapped.len() {
            let mut bad = wrapped.clone();
            bad[i] ^= 0x80;
            assert!(Keyring::unwrap(&kek, &bad).is_err(), "byte {i}");
        }
        for len in 0..wrapped.len() {
            assert!(Keyring::unwrap(&kek, &wrapped[..len]).is_err(), "{len}");
        }
    }

    #[test]
    fn the_same_keyring_wraps_differently() {
        let kek = Kek::from_bytes([9; KEY_LEN]);
        let ring = ring();
        assert_ne!(ring.wrap(&kek, nonce()), ring.wrap(&kek, nonce()));
    }

    #[test]
    fn refuses_layouts_it_does_not_know() {
        let ring = ring();
        let good = ring.encode();
        assert!(Keyring::decode(&good).is_ok());
        let mut bad_version = good.to_vec();
        bad_version[0] = 2;
        let mut no_terms = good[..FIXED_LEN].to_vec();
        no_terms[65..69].copy_from_slice(&0u32.to_be_bytes());
        let mut term_zero = good.to_vec();
        term_zero[FIXED_LEN..FIXED_LEN + 4].copy_from_slice(&0u32.to_be_bytes());
        let mut extra = good.to_vec();
        extra.push(0);
        for bad in [bad_version, no_terms, term_zero, extra, good[..10].to_vec()] {
            assert!(Keyring::decode(&bad).is_err());
        }
    }
}
