//! Envelope encryption of sealed values (DESIGN.md section 5), free of Spin calls.
//!
//! Each value gets a fresh 256-bit data key; the value is encrypted under it with
//! AES-256-GCM and the data key is wrapped, again with AES-256-GCM, by the
//! key-encryption key (KEK). Both associated data bind the scope, so a record copied to
//! another scope fails to open; the wrap also binds the KEK's id, so a record cannot be
//! relabelled to another key.
//!
//! Record layout, version 1 (all fixed width but the ciphertext):
//!
//! | bytes | field |
//! | --- | --- |
//! | 1 | format version (1) |
//! | 8 | key id: first 8 bytes of SHA-256 of the KEK |
//! | 12 | wrap nonce |
//! | 48 | wrapped data key (32 + 16 tag) |
//! | 12 | value nonce |
//! | rest | value ciphertext and its 16-byte tag |

use std::fmt;

use aes_gcm::aead::{Aead, Nonce, Payload};
use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{RandomUnavailable, VaultError};
use crate::random;

const FORMAT_V1: u8 = 1;
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const KEY_ID_LEN: usize = 8;
const WRAPPED_LEN: usize = KEY_LEN + TAG_LEN;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN + WRAPPED_LEN + NONCE_LEN;

const VALUE_DOMAIN: &[u8] = b"edgesafe:sealed-value:v1";
const WRAP_DOMAIN: &[u8] = b"edgesafe:wrapped-key:v1";

/// Identifies a KEK without revealing it: the first 8 bytes of its SHA-256.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A key-encryption key. Wiped on drop; never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Kek {
    key: [u8; KEY_LEN],
    #[zeroize(skip)]
    id: KeyId,
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kek({})", self.id)
    }
}

impl Kek {
    pub fn from_bytes(key: [u8; KEY_LEN]) -> Self {
        let digest = Sha256::digest(key);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Kek { key, id: KeyId(id) }
    }

    /// Reads 32 bytes written as 64 hex digits or as standard base64. Surrounding
    /// whitespace is ignored, since variables often come from files with a newline.
    /// The error carries nothing of the text.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let mut bytes = Zeroizing::new(if text.len() == 2 * KEY_LEN {
            hex::decode(text).ok()?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()?
        });
        let key: [u8; KEY_LEN] = bytes.as_slice().try_into().ok()?;
        bytes.zeroize();
        Some(Self::from_bytes(key))
    }

    pub fn id(&self) -> KeyId {
        self.id
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.key.into())
    }
}

/// A sealed record split into its fields; opening it needs the KEK its key id names.
pub struct SealedRecord<'a> {
    key_id: KeyId,
    wrap_nonce: [u8; NONCE_LEN],
    wrapped_key: &'a [u8],
    value_nonce: [u8; NONCE_LEN],
    ciphertext: &'a [u8],
}

impl<'a> SealedRecord<'a> {
    /// Splits a stored record. Anything that is not a well-formed record reads as
    /// tampered: the store holds only what the core wrote.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, VaultError> {
        if bytes.len() < HEADER_LEN + TAG_LEN || bytes[0] != FORMAT_V1 {
            return Err(VaultError::Tampered);
        }
        let (key_id, rest) = bytes[1..].split_at(KEY_ID_LEN);
        let (wrap_nonce, rest) = rest.split_at(NONCE_LEN);
        let (wrapped_key, rest) = rest.split_at(WRAPPED_LEN);
        let (value_nonce, ciphertext) = rest.split_at(NONCE_LEN);
        Ok(SealedRecord {
            key_id: KeyId(key_id.try_into().map_err(|_| VaultError::Tampered)?),
            wrap_nonce: wrap_nonce.try_into().map_err(|_| VaultError::Tampered)?,
            wrapped_key,
            value_nonce: value_nonce.try_into().map_err(|_| VaultError::Tampered)?,
            ciphertext,
        })
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Unwraps the data key with `kek` and decrypts the value. Any failure, including
    /// a KEK other than the one named by the record, is `Tampered`.
    pub fn open(&self, kek: &Kek, scope: &str) -> Result<Vec<u8>, VaultError> {
        if kek.id != self.key_id {
            return Err(VaultError::Tampered);
        }
        let data_key = Zeroizing::new(
            kek.cipher()
                .decrypt(
                    &Nonce::<Aes256Gcm>::from(self.wrap_nonce),
                    Payload {
                        msg: self.wrapped_key,
                        aad: &wrap_aad(self.key_id, scope),
                    },
                )
                .map_err(|_| VaultError::Tampered)?,
        );
        let data_key: &[u8; KEY_LEN] = data_key
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Tampered)?;
        Aes256Gcm::new(&(*data_key).into())
            .decrypt(
                &Nonce::<Aes256Gcm>::from(self.value_nonce),
                Payload {
                    msg: self.ciphertext,
                    aad: &value_aad(scope),
                },
            )
            .map_err(|_| VaultError::Tampered)
    }
}

/// Fresh randomness for one seal: the data key and the two nonces.
pub struct SealRandomness {
    data_key: Zeroizing<[u8; KEY_LEN]>,
    wrap_nonce: [u8; NONCE_LEN],
    value_nonce: [u8; NONCE_LEN],
}

impl SealRandomness {
    pub fn from_os() -> Result<Self, RandomUnavailable> {
        Ok(SealRandomness {
            data_key: Zeroizing::new(random::array()?),
            wrap_nonce: random::array()?,
            value_nonce: random::array()?,
        })
    }
}

/// Encrypts `plaintext` for `scope` under `kek` and returns the record to store.
pub fn seal(
    kek: &Kek,
    scope: &str,
    plaintext: &[u8],
    fresh: SealRandomness,
) -> Result<Vec<u8>, VaultError> {
    let ciphertext = Aes256Gcm::new(&(*fresh.data_key).into())
        .encrypt(
            &Nonce::<Aes256Gcm>::from(fresh.value_nonce),
            Payload {
                msg: plaintext,
                aad: &value_aad(scope),
            },
        )
        .map_err(|_| VaultError::invalid("value too large to seal"))?;
    let wrapped = kek
        .cipher()
        .encrypt(
            &Nonce::<Aes256Gcm>::from(fresh.wrap_nonce),
            Payload {
                msg: fresh.data_key.as_slice(),
                aad: &wrap_aad(kek.id, scope),
            },
        )
        .map_err(|_| VaultError::io("cannot wrap data key"))?;
    if wrapped.len() != WRAPPED_LEN {
        return Err(VaultError::io("cannot wrap data key"));
    }
    let mut record = Vec::with_capacity(HEADER_LEN + ciphertext.len());
    record.push(FORMAT_V1);
    record.extend_from_slice(&kek.id.0);
    record.extend_from_slice(&fresh.wrap_nonce);
    record.extend_from_slice(&wrapped);
    record.extend_from_slice(&fresh.value_nonce);
    record.extend_from_slice(&ciphertext);
    Ok(record)
}

fn value_aad(scope: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(VALUE_DOMAIN.len() + 8 + scope.len());
    aad.extend_from_slice(VALUE_DOMAIN);
    push_field(&mut aad, scope.as_bytes());
    aad
}

fn wrap_aad(key_id: KeyId, scope: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(WRAP_DOMAIN.len() + 16 + KEY_ID_LEN + scope.len());
    aad.extend_from_slice(WRAP_DOMAIN);
    push_field(&mut aad, &key_id.0);
    push_field(&mut aad, scope.as_bytes());
    aad
}

fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u64).to_be_bytes());
    out.extend_from_slice(field);
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX_KEK: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn kek(fill: u8) -> Kek {
        Kek::from_bytes([fill; KEY_LEN])
    }

    fn sealed(kek: &Kek, scope: &str, value: &[u8]) -> Vec<u8> {
        seal(kek, scope, value, SealRandomness::from_os().unwrap()).unwrap()
    }

    fn open(record: &[u8], kek: &Kek, scope: &str) -> Result<Vec<u8>, VaultError> {
        SealedRecord::decode(record)?.open(kek, scope)
    }

    #[test]
    fn round_trip() {
        let k = kek(7);
        for value in [&b""[..], b"p@ss", &[0u8; 5000]] {
            let record = sealed(&k, "secret/1/v/1", value);
            assert_eq!(record.len(), HEADER_LEN + value.len() + TAG_LEN);
            assert_eq!(open(&record, &k, "secret/1/v/1").unwrap(), value);
        }
    }

    #[test]
    fn same_value_seals_differently() {
        let k = kek(7);
        assert_ne!(sealed(&k, "s", b"v"), sealed(&k, "s", b"v"));
    }

    #[test]
    fn wrong_scope_fails() {
        let k = kek(7);
        let record = sealed(&k, "secret/1/v/1", b"value");
        assert_eq!(open(&record, &k, "secret/1/v/2"), Err(VaultError::Tampered));
        assert_eq!(
            open(&record, &k, "secret/1/v/1 "),
            Err(VaultError::Tampered)
        );
    }

    #[test]
    fn every_flipped_byte_fails() {
        let k = kek(7);
        let record = sealed(&k, "scope", b"a value of some length");
        for i in 0..record.len() {
            let mut bad = record.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                open(&bad, &k, "scope"),
                Err(VaultError::Tampered),
                "byte {i}"
            );
        }
    }

    #[test]
    fn truncated_or_unknown_format_fails() {
        let k = kek(7);
        let record = sealed(&k, "scope", b"value");
        for len in 0..record.len() {
            assert_eq!(open(&record[..len], &k, "scope"), Err(VaultError::Tampered));
        }
        let mut v2 = record.clone();
        v2[0] = 2;
        assert_eq!(open(&v2, &k, "scope"), Err(VaultError::Tampered));
    }

    #[test]
    fn wrong_kek_fails() {
        let record = sealed(&kek(7), "scope", b"value");
        assert_eq!(open(&record, &kek(8), "scope"), Err(VaultError::Tampered));
    }

    #[test]
    fn relabelled_key_id_fails_even_with_the_other_kek() {
        let (a, b) = (kek(1), kek(2));
        let mut record = sealed(&a, "scope", b"value");
        record[1..1 + KEY_ID_LEN].copy_from_slice(&b.id().0);
        assert_eq!(open(&record, &b, "scope"), Err(VaultError::Tampered));
    }

    #[test]
    fn previous_kek_still_opens_its_records() {
        let (previous, current) = (kek(1), kek(2));
        let old = sealed(&previous, "scope", b"old value");
        let record = SealedRecord::decode(&old).unwrap();
        assert_eq!(record.key_id(), previous.id());
        assert_ne!(record.key_id(), current.id());
        assert_eq!(record.open(&previous, "scope").unwrap(), b"old value");
        assert_eq!(record.open(&current, "scope"), Err(VaultError::Tampered));
    }

    #[test]
    fn parses_hex_and_base64() {
        let from_hex = Kek::parse(HEX_KEK).unwrap();
        let from_upper = Kek::parse(&HEX_KEK.to_uppercase()).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(from_hex.key);
        let from_b64 = Kek::parse(&format!("  {b64}\n")).unwrap();
        assert_eq!(from_hex.id(), from_b64.id());
        assert_eq!(from_hex.id(), from_upper.id());
        assert_eq!(from_hex.key[31], 0x1f);
        assert_eq!(from_hex.id().to_string().len(), 16);
    }

    #[test]
    fn refuses_garbage_keks() {
        let short_b64 = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
        let long_b64 = base64::engine::general_purpose::STANDARD.encode([1u8; 33]);
        for text in [
            "",
            "   ",
            "not a key",
            &HEX_KEK[..62],
            &format!("{}zz", &HEX_KEK[..62]),
            &short_b64,
            &long_b64,
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", // 43 chars, no padding
        ] {
            assert!(Kek::parse(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn debug_output_hides_the_key() {
        let k = Kek::parse(HEX_KEK).unwrap();
        let shown = format!("{k:?}");
        assert!(!shown.contains("0001020304"), "{shown}");
        assert!(shown.starts_with("Kek("));
    }
}
