//! TOTP (RFC 6238) for credential secrets: reading the seed a client sends, and the
//! code of a moment. Pure logic, no storage: the handlers seal the seed like a password
//! and keep the parameters in the secret's row.
//!
//! Error messages name the field and the rule, never the seed.

use data_encoding::BASE32_NOPAD;
use edgesafe_api_common::{ApiError, Result};
use hmac::{Hmac, KeyInit, Mac};

/// The field clients send the seed in.
pub const FIELD: &str = "TotpSecretKey";
/// Longest accepted `TotpSecretKey` (the official client's own limit).
pub const KEY_MAX_CHARS: usize = 1024;
/// Shortest accepted seed: 80 bits, what authenticator apps are commonly given (16
/// Base32 characters); RFC 4226 recommends 160.
pub const SEED_MIN_BYTES: usize = 10;

/// The HMAC behind the codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    /// The name in `otpauth://` URIs, in answers and in the database.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512]
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// How codes are made: RFC 6238's defaults are SHA1, 6 digits, 30 seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parameters {
    pub algorithm: Algorithm,
    pub digits: u32,
    pub period: u32,
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        }
    }
}

pub const DIGITS_MIN: u32 = 6;
pub const DIGITS_MAX: u32 = 8;
pub const PERIOD_MIN: u32 = 1;
pub const PERIOD_MAX: u32 = 3600;

/// A seed and its parameters, as a client provisioned them.
#[derive(Debug, PartialEq, Eq)]
pub struct Totp {
    pub seed: Vec<u8>,
    pub parameters: Parameters,
}

/// Reads `TotpSecretKey`: a Base32 seed (any case, spaces and `=` padding ignored) with
/// the default parameters, or an `otpauth://totp/<label>?secret=...` URI, whose
/// `algorithm`, `digits` and `period` override them.
pub fn parse_key(key: &str) -> Result<Totp> {
    let key = key.trim();
    if key.is_empty() || key.chars().count() > KEY_MAX_CHARS {
        return Err(ApiError::bad_request(
            FIELD,
            &format!(
                "required: a Base32 seed or an otpauth:// URI, at most {KEY_MAX_CHARS} characters"
            ),
        ));
    }
    if has_prefix(key, "otpauth://") {
        return parse_uri(key);
    }
    Ok(Totp {
        seed: base32_seed(key)?,
        parameters: Parameters::default(),
    })
}

fn has_prefix(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

fn base32_seed(text: &str) -> Result<Vec<u8>> {
    let normalized: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let seed = BASE32_NOPAD
        .decode(normalized.as_bytes())
        .map_err(|_| ApiError::bad_request(FIELD, "the seed must be Base32 (RFC 4648)"))?;
    if seed.len() < SEED_MIN_BYTES {
        return Err(ApiError::bad_request(
            FIELD,
            "the seed must be at least 80 bits (16 Base32 characters)",
        ));
    }
    Ok(seed)
}

/// `otpauth://totp/<label>?secret=<base32>[&algorithm=][&digits=][&period=][&issuer=]`
/// (the Key Uri Format authenticator apps read). Other parameters are ignored.
fn parse_uri(uri: &str) -> Result<Totp> {
    let rest = &uri["otpauth://".len()..];
    if !has_prefix(rest, "totp/")
        && !rest.eq_ignore_ascii_case("totp")
        && !has_prefix(rest, "totp?")
    {
        return Err(ApiError::bad_request(
            FIELD,
            "an otpauth:// URI must be of type totp",
        ));
    }
    let query = rest.split_once('?').map_or("", |(_, q)| q);
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    let mut seed = None;
    let mut parameters = Parameters::default();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.to_ascii_lowercase().as_str() {
            "secret" => seed = Some(base32_seed(&value)?),
            "algorithm" => {
                parameters.algorithm = Algorithm::from_name(&value).ok_or_else(|| {
                    ApiError::bad_request(FIELD, "algorithm must be SHA1, SHA256 or SHA512")
                })?;
            }
            "digits" => parameters.digits = bounded(&value, DIGITS_MIN, DIGITS_MAX, "digits")?,
            "period" => parameters.period = bounded(&value, PERIOD_MIN, PERIOD_MAX, "period")?,
            _ => {}
        }
    }
    let seed = seed.ok_or_else(|| {
        ApiError::bad_request(FIELD, "an otpauth:// URI needs a secret parameter")
    })?;
    Ok(Totp { seed, parameters })
}

fn bounded(value: &str, min: u32, max: u32, name: &str) -> Result<u32> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| ApiError::bad_request(FIELD, &format!("{name} must be {min} to {max}")))
}

/// A code and the seconds it is valid in: `[valid_from, valid_to)`.
#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    pub code: String,
    pub valid_from: i64,
    pub valid_to: i64,
}

/// The code at Unix time `now` (RFC 6238: HOTP of the number of periods since the
/// epoch, dynamically truncated as RFC 4226 section 5.3 says).
pub fn code_at(seed: &[u8], parameters: Parameters, now: i64) -> Result<Code> {
    let period = i64::from(parameters.period.max(1));
    let step = now.div_euclid(period);
    let counter = u64::try_from(step)
        .map_err(|_| ApiError::internal("a TOTP code before 1970"))?
        .to_be_bytes();
    let digest = match parameters.algorithm {
        Algorithm::Sha1 => hmac::<Hmac<sha1::Sha1>>(seed, &counter)?,
        Algorithm::Sha256 => hmac::<Hmac<sha2::Sha256>>(seed, &counter)?,
        Algorithm::Sha512 => hmac::<Hmac<sha2::Sha512>>(seed, &counter)?,
    };
    let offset = usize::from(digest.last().copied().unwrap_or(0) & 0x0f);
    let word: [u8; 4] = digest
        .get(offset..offset + 4)
        .and_then(|w| w.try_into().ok())
        .ok_or_else(|| ApiError::internal("an HMAC shorter than 20 bytes"))?;
    let binary = u32::from_be_bytes(word) & 0x7fff_ffff;
    let digits = parameters.digits.clamp(DIGITS_MIN, DIGITS_MAX);
    let code = binary % 10_u32.pow(digits);
    Ok(Code {
        code: format!("{code:0width$}", width = digits as usize),
        valid_from: step * period,
        valid_to: (step + 1) * period,
    })
}

fn hmac<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Result<Vec<u8>> {
    let mut mac = <M as KeyInit>::new_from_slice(key)
        .map_err(|_| ApiError::internal("an HMAC key of a length HMAC refuses"))?;
    mac.update(message);
    Ok(mac.finalize().into_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the seeds are ASCII "1234567890" repeated to the hash's
    /// block-relevant length (20, 32 and 64 bytes), 8 digits, 30 seconds.
    const SEED_SHA1: &[u8] = b"12345678901234567890";
    const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
    const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    fn rfc(algorithm: Algorithm) -> Parameters {
        Parameters {
            algorithm,
            digits: 8,
            period: 30,
        }
    }

    #[test]
    fn rfc_6238_test_vectors() {
        let vectors: &[(i64, &str, &str, &str)] = &[
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (time, sha1, sha256, sha512) in vectors {
            let at = |seed: &[u8], a| code_at(seed, rfc(a), *time).map(|c| c.code);
            assert_eq!(
                at(SEED_SHA1, Algorithm::Sha1).as_deref(),
                Ok(*sha1),
                "{time}"
            );
            assert_eq!(
                at(SEED_SHA256, Algorithm::Sha256).as_deref(),
                Ok(*sha256),
                "{time}"
            );
            assert_eq!(
                at(SEED_SHA512, Algorithm::Sha512).as_deref(),
                Ok(*sha512),
                "{time}"
            );
        }
    }

    #[test]
    fn a_code_is_valid_for_its_period() {
        let code = code_at(SEED_SHA1, Parameters::default(), 59);
        assert_eq!(
            code.map(|c| (c.code.len(), c.valid_from, c.valid_to)),
            Ok((6, 30, 60))
        );
        // The 6-digit code is the 8-digit one's last six digits.
        assert_eq!(
            code_at(SEED_SHA1, Parameters::default(), 59).map(|c| c.code),
            Ok("287082".to_owned())
        );
    }

    #[test]
    fn base32_seeds() {
        // "12345678901234567890" in Base32, lower case, spaced and padded.
        let key = "gezd gnbv gy3t qojq gezd gnbv gy3t qojq";
        assert_eq!(
            parse_key(key),
            Ok(Totp {
                seed: SEED_SHA1.to_vec(),
                parameters: Parameters::default()
            })
        );
        assert_eq!(
            parse_key("GEZDGNBVGY3TQOJQ====").map(|t| t.seed.len()),
            Ok(10)
        );
        let status = |k: &str| parse_key(k).err().map(|e| e.status().as_u16());
        assert_eq!(status("not base32 at all!"), Some(400));
        assert_eq!(status("GEZDGNBV"), Some(400), "40 bits is too short");
        assert_eq!(status(""), Some(400));
        assert_eq!(status(&"A".repeat(1025)), Some(400));
    }

    #[test]
    fn otpauth_uris() {
        let uri = "otpauth://totp/ACME:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME&algorithm=sha256&digits=8&period=60";
        assert_eq!(
            parse_key(uri).map(|t| t.parameters),
            Ok(Parameters {
                algorithm: Algorithm::Sha256,
                digits: 8,
                period: 60
            })
        );
        let plain = parse_key("OTPAUTH://TOTP/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(plain.map(|t| t.parameters), Ok(Parameters::default()));
        let status = |k: &str| parse_key(k).err().map(|e| e.status().as_u16());
        assert_eq!(
            status("otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQ&counter=1"),
            Some(400)
        );
        assert_eq!(status("otpauth://totp/x?issuer=ACME"), Some(400));
        assert_eq!(
            status("otpauth://totp/x?secret=GEZDGNBVGY3TQOJQ&digits=9"),
            Some(400)
        );
        assert_eq!(
            status("otpauth://totp/x?secret=GEZDGNBVGY3TQOJQ&period=0"),
            Some(400)
        );
        assert_eq!(
            status("otpauth://totp/x?secret=GEZDGNBVGY3TQOJQ&algorithm=MD5"),
            Some(400)
        );
    }

    #[test]
    fn errors_never_echo_the_seed() {
        let e = parse_key("otpauth://totp/x?secret=SECRETSEED!!").err();
        let message = e.map(|e| e.message().to_owned()).unwrap_or_default();
        assert!(message.starts_with("TotpSecretKey"), "{message}");
        assert!(!message.contains("SECRETSEED"), "{message}");
    }
}
