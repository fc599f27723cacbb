//! The formats of sealed values (DESIGN.md section 5), free of Spin calls.
//!
//! Format 2, written today: the value is encrypted with AES-256-GCM under a data key
//! of the keyring, named by its term. The associated data binds the format, the term
//! and the scope, so a record copied to another scope, or relabelled to another term,
//! fails to open.
//!
//! | bytes | field |
//! | --- | --- |
//! | 1 | format version (2) |
//! | 4 | keyring term, big-endian |
//! | 12 | nonce |
//! | rest | value ciphertext and its 16-byte tag |
//!
//! Format 1, only read (vaults made before the keyring; the core re-seals them to
//! format 2): each value had a fresh data key, wrapped by the key-encryption key (KEK)
//! itself. Both associated data bind the scope; the wrap also binds the KEK's id.
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

use crate::error::VaultError;

const FORMAT_V1: u8 = 1;
const FORMAT_V2: u8 = 2;
pub const KEY_LEN: usize = 32;
pub const NONCE_LEN: usize = 12;
pub const TAG_LEN: usize = 16;
const KEY_ID_LEN: usize = 8;
const WRAPPED_LEN: usize = KEY_LEN + TAG_LEN;
const V1_HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN + WRAPPED_LEN + NONCE_LEN;
const TERM_LEN: usize = 4;
const V2_HEADER_LEN: usize = 1 + TERM_LEN + NONCE_LEN;

const VALUE_DOMAIN: &[u8] = b"edgesafe:sealed-value:v1";
const WRAP_DOMAIN: &[u8] = b"edgesafe:wrapped-key:v1";
const TERM_VALUE_DOMAIN: &[u8] = b"edgesafe:sealed-value:v2";

/// A keyring term: data keys are numbered 1, 2, ... in the order they were made.
pub type Term = u32;

/// A 256-bit key (a data key or a system key). Wiped on drop.
pub type SecretKey = Zeroizing<[u8; KEY_LEN]>;

/// Identifies a KEK without revealing it: the first 8 bytes of its SHA-256.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl KeyId {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

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

    pub fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.key.into())
    }
}

/// A stored record of either format.
pub enum SealedRecord<'a> {
    /// Format 1: sealed directly under the KEK its key id names.
    Kek(KekRecord<'a>),
    /// Format 2: sealed under a keyring term.
    Term(TermRecord<'a>),
}

impl<'a> SealedRecord<'a> {
    /// Splits a stored record. Anything that is not a well-formed record reads as
    /// tampered: the store holds only what the core wrote.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, VaultError> {
        match bytes.first() {
            Some(&FORMAT_V1) => KekRecord::decode(bytes).map(SealedRecord::Kek),
            Some(&FORMAT_V2) => TermRecord::decode(bytes).map(SealedRecord::Term),
            _ => Err(VaultError::Tampered),
        }
    }
}

/// A format-1 record split into its fields; opening it needs the KEK its key id names.
pub struct KekRecord<'a> {
    key_id: KeyId,
    wrap_nonce: [u8; NONCE_LEN],
    wrapped_key: &'a [u8],
    value_nonce: [u8; NONCE_LEN],
    ciphertext: &'a [u8],
}

impl<'a> KekRecord<'a> {
    fn decode(bytes: &'a [u8]) -> Result<Self, VaultError> {
        if bytes.len() < V1_HEADER_LEN + TAG_LEN || bytes[0] != FORMAT_V1 {
            return Err(VaultError::Tampered);
        }
        let (key_id, rest) = bytes[1..].split_at(KEY_ID_LEN);
        let (wrap_nonce, rest) = rest.split_at(NONCE_LEN);
        let (wrapped_key, rest) = rest.split_at(WRAPPED_LEN);
        let (value_nonce, ciphertext) = rest.split_at(NONCE_LEN);
        Ok(KekRecord {
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
    pub fn open(&self, kek: &Kek, scope: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
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
            .map(Zeroizing::new)
            .map_err(|_| VaultError::Tampered)
    }
}

/// A format-2 record split into its fields; opening it needs its term's data key.
pub struct TermRecord<'a> {
    term: Term,
    nonce: [u8; NONCE_LEN],
    ciphertext: &'a [u8],
}

impl<'a> TermRecord<'a> {
    fn decode(bytes: &'a [u8]) -> Result<Self, VaultError> {
        if bytes.len() < V2_HEADER_LEN + TAG_LEN || bytes[0] != FORMAT_V2 {
            return Err(VaultError::Tampered);
        }
        let (term, rest) = bytes[1..].split_at(TERM_LEN);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        Ok(TermRecord {
            term: Term::from_be_bytes(term.try_into().map_err(|_| VaultError::Tampered)?),
            nonce: nonce.try_into().map_err(|_| VaultError::Tampered)?,
            ciphertext,
        })
    }

    pub fn term(&self) -> Term {
        self.term
    }

    /// Decrypts the value with `data_key`, the key of [`TermRecord::term`]. Any failure
    /// (another term's key, another scope, an edited byte) is `Tampered`.
    pub fn open(
        &self,
        data_key: &[u8; KEY_LEN],
        scope: &str,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        Aes256Gcm::new(&(*data_key).into())
            .decrypt(
                &Nonce::<Aes256Gcm>::from(self.nonce),
                Payload {
                    msg: self.ciphertext,
                    aad: &term_value_aad(self.term, scope),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| VaultError::Tampered)
    }
}

/// Encrypts `plaintext` for `scope` under the data key of `term`; `nonce` must be
/// fresh (random) for every call.
pub fn seal(
    term: Term,
    data_key: &[u8; KEY_LEN],
    scope: &str,
    plaintext: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>, VaultError> {
    let ciphertext = Aes256Gcm::new(&(*data_key).into())
        .encrypt(
            &Nonce::<Aes256Gcm>::from(nonce),
            Payload {
                msg: plaintext,
                aad: &term_value_aad(term, scope),
            },
        )
        .map_err(|_| VaultError::invalid("value too large to seal"))?;
    let mut record = Vec::with_capacity(V2_HEADER_LEN + ciphertext.len());
    record.push(FORMAT_V2);
    record.extend_from_slice(&term.to_be_bytes());
    record.extend_from_slice(&nonce);
    record.extend_from_slice(&ciphertext);
    Ok(record)
}

/// A format-1 record, as vaults made before the keyring hold them; only tests make
/// new ones.
#[cfg(test)]
pub fn seal_under_kek(kek: &Kek, scope: &str, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
    let data_key: [u8; KEY_LEN] = crate::random::array()?;
    let (wrap_nonce, value_nonce): ([u8; NONCE_LEN], [u8; NONCE_LEN]) =
        (crate::random::array()?, crate::random::array()?);
    let ciphertext = Aes256Gcm::new(&data_key.into())
        .encrypt(
            &Nonce::<Aes256Gcm>::from(value_nonce),
            Payload {
                msg: plaintext,
                aad: &value_aad(scope),
            },
        )
        .map_err(|_| VaultError::invalid("value too large to seal"))?;
    let wrapped = kek
        .cipher()
        .encrypt(
            &Nonce::<Aes256Gcm>::from(wrap_nonce),
            Payload {
                msg: data_key.as_slice(),
                aad: &wrap_aad(kek.id, scope),
            },
        )
        .map_err(|_| VaultError::io("cannot wrap data key"))?;
    let mut record = Vec::with_capacity(V1_HEADER_LEN + ciphertext.len());
    record.push(FORMAT_V1);
    record.extend_from_slice(&kek.id.0);
    record.extend_from_slice(&wrap_nonce);
    record.extend_from_slice(&wrapped);
    record.extend_from_slice(&value_nonce);
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

fn term_value_aad(term: Term, scope: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(TERM_VALUE_DOMAIN.len() + 29 + scope.len());
    aad.extend_from_slice(TERM_VALUE_DOMAIN);
    push_field(&mut aad, &[FORMAT_V2]);
    push_field(&mut aad, &term.to_be_bytes());
    push_field(&mut aad, scope.as_bytes());
    aad
}

/// Appends a length-prefixed field, so that no two field lists share an encoding.
pub fn push_field(out: &mut Vec<u8>, field: &[u8]) {
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

    fn sealed_v1(kek: &Kek, scope: &str, value: &[u8]) -> Vec<u8> {
        seal_under_kek(kek, scope, value).unwrap()
    }

    fn open_v1(record: &[u8], kek: &Kek, scope: &str) -> Result<Vec<u8>, VaultError> {
        match SealedRecord::decode(record)? {
            SealedRecord::Kek(r) => r.open(kek, scope).map(|v| v.to_vec()),
            SealedRecord::Term(_) => panic!("format 2"),
        }
    }

    fn sealed_v2(term: Term, key: &[u8; KEY_LEN], scope: &str, value: &[u8]) -> Vec<u8> {
        seal(term, key, scope, value, crate::random::array().unwrap()).unwrap()
    }

    /// Opens a format-2 record with the key `keys` holds for its term.
    fn open_v2(
        record: &[u8],
        keys: &[(Term, [u8; KEY_LEN])],
        scope: &str,
    ) -> Result<Vec<u8>, VaultError> {
        match SealedRecord::decode(record)? {
            SealedRecord::Term(r) => {
                let (_, key) = keys
                    .iter()
                    .find(|(t, _)| *t == r.term())
                    .ok_or(VaultError::Tampered)?;
                r.open(key, scope).map(|v| v.to_vec())
            }
            SealedRecord::Kek(_) => panic!("format 1"),
        }
    }

    const K1: [u8; KEY_LEN] = [1; KEY_LEN];
    const K2: [u8; KEY_LEN] = [2; KEY_LEN];

    #[test]
    fn term_records_round_trip() {
        for value in [&b""[..], b"p@ss", &[0u8; 5000]] {
            let record = sealed_v2(7, &K1, "secret/1/v/1", value);
            assert_eq!(record.len(), V2_HEADER_LEN + value.len() + TAG_LEN);
            assert_eq!(record[0], FORMAT_V2);
            assert_eq!(open_v2(&record, &[(7, K1)], "secret/1/v/1").unwrap(), value);
        }
    }

    #[test]
    fn term_records_fail_with_another_scope_term_or_key() {
        let record = sealed_v2(1, &K1, "secret/1/v/1", b"value");
        let keys = [(1, K1), (2, K2)];
        assert_eq!(
            open_v2(&record, &keys, "secret/1/v/2"),
            Err(VaultError::Tampered)
        );
        // Relabelled to term 2: the key of term 2 does not open it, and neither does
        // the right key, since the term is bound into the associated data.
        let mut relabelled = record.clone();
        relabelled[1..5].copy_from_slice(&2u32.to_be_bytes());
        assert_eq!(
            open_v2(&relabelled, &keys, "secret/1/v/1"),
            Err(VaultError::Tampered)
        );
        assert_eq!(
            open_v2(&relabelled, &[(2, K1)], "secret/1/v/1"),
            Err(VaultError::Tampered)
        );
        // The right term with another key.
        assert_eq!(
            open_v2(&record, &[(1, K2)], "secret/1/v/1"),
            Err(VaultError::Tampered)
        );
    }

    #[test]
    fn every_flipped_byte_of_a_term_record_fails() {
        let record = sealed_v2(3, &K1, "scope", b"a value of some length");
        for i in 0..record.len() {
            let mut bad = record.clone();
            bad[i] ^= 0x01;
            let keys = [(3, K1), (3 ^ 0x01, K1), (3 ^ 0x0100_0000, K1)];
            assert!(open_v2(&bad, &keys, "scope").is_err(), "byte {i}");
        }
    }

    #[test]
    fn truncated_or_unknown_formats_fail() {
        let record = sealed_v2(1, &K1, "scope", b"value");
        for len in 0..record.len() {
            assert!(
                SealedRecord::decode(&record[..len])
                    .and_then(|r| match r {
                        SealedRecord::Term(r) => r.open(&K1, "scope"),
                        SealedRecord::Kek(r) => r.open(&kek(1), "scope"),
                    })
                    .is_err(),
                "{len}"
            );
        }
        for format in [0u8, 3, 255] {
            let mut other = record.clone();
            other[0] = format;
            assert!(matches!(
                SealedRecord::decode(&other),
                Err(VaultError::Tampered)
            ));
        }
    }

    #[test]
    fn same_value_seals_differently() {
        assert_ne!(sealed_v2(1, &K1, "s", b"v"), sealed_v2(1, &K1, "s", b"v"));
        let k = kek(7);
        assert_ne!(sealed_v1(&k, "s", b"v"), sealed_v1(&k, "s", b"v"));
    }

    #[test]
    fn kek_records_still_open() {
        let k = kek(7);
        for value in [&b""[..], b"p@ss", &[0u8; 5000]] {
            let record = sealed_v1(&k, "secret/1/v/1", value);
            assert_eq!(record.len(), V1_HEADER_LEN + value.len() + TAG_LEN);
            assert_eq!(open_v1(&record, &k, "secret/1/v/1").unwrap(), value);
        }
    }

    #[test]
    fn kek_records_fail_with_another_scope_or_kek() {
        let k = kek(7);
        let record = sealed_v1(&k, "secret/1/v/1", b"value");
        assert_eq!(
            open_v1(&record, &k, "secret/1/v/2"),
            Err(VaultError::Tampered)
        );
        assert_eq!(
            open_v1(&record, &k, "secret/1/v/1 "),
            Err(VaultError::Tampered)
        );
        assert_eq!(
            open_v1(&record, &kek(8), "secret/1/v/1"),
            Err(VaultError::Tampered)
        );
    }

    #[test]
    fn every_flipped_byte_of_a_kek_record_fails() {
        let k = kek(7);
        let record = sealed_v1(&k, "scope", b"a value of some length");
        for i in 0..record.len() {
            let mut bad = record.clone();
            bad[i] ^= 0x01;
            assert!(open_v1(&bad, &k, "scope").is_err(), "byte {i}");
        }
    }

    #[test]
    fn relabelled_key_id_fails_even_with_the_other_kek() {
        let (a, b) = (kek(1), kek(2));
        let mut record = sealed_v1(&a, "scope", b"value");
        record[1..1 + KEY_ID_LEN].copy_from_slice(&b.id().0);
        assert_eq!(open_v1(&record, &b, "scope"), Err(VaultError::Tampered));
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
