//! Generated passwords: uniform choices by rejection sampling, one character of each
//! enabled class placed first, the rest from all enabled classes, then a Fisher-Yates
//! shuffle so the forced characters are not at predictable positions.

use crate::error::{RandomUnavailable, VaultError};

pub const MIN_LENGTH: u32 = 4;
pub const MAX_LENGTH: u32 = 256;

const LOWERCASE: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const UPPERCASE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";
// Printable ASCII punctuation without quotes, backslash, backtick, `|`, `<` and `>`,
// which break shells, CSV, XML and connection strings that embed the password.
const SYMBOLS: &[u8] = b"!#$%&()*+,-./:;=?@[]^_{}~";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordRule {
    pub length: u32,
    pub lowercase: bool,
    pub uppercase: bool,
    pub digits: bool,
    pub symbols: bool,
}

/// Generates a password for `rule`, drawing 32-bit random numbers from `next_u32`.
pub fn generate(
    rule: &PasswordRule,
    next_u32: &mut dyn FnMut() -> Result<u32, RandomUnavailable>,
) -> Result<String, VaultError> {
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&rule.length) {
        return Err(VaultError::invalid(format!(
            "password length must be {MIN_LENGTH} to {MAX_LENGTH}"
        )));
    }
    let classes: Vec<&[u8]> = [
        (rule.lowercase, LOWERCASE),
        (rule.uppercase, UPPERCASE),
        (rule.digits, DIGITS),
        (rule.symbols, SYMBOLS),
    ]
    .into_iter()
    .filter_map(|(on, class)| on.then_some(class))
    .collect();
    if classes.is_empty() {
        return Err(VaultError::invalid(
            "password rule must enable at least one character class",
        ));
    }
    let alphabet: Vec<u8> = classes.concat();
    // `length` is at most 256, so it always fits.
    let length = rule.length as usize;
    let mut chars = Vec::with_capacity(length);
    for class in &classes {
        chars.push(class[below(class.len(), next_u32)?]);
    }
    while chars.len() < length {
        chars.push(alphabet[below(alphabet.len(), next_u32)?]);
    }
    for i in (1..chars.len()).rev() {
        let j = below(i + 1, next_u32)?;
        chars.swap(i, j);
    }
    // Every byte comes from the ASCII tables above.
    Ok(chars.into_iter().map(char::from).collect())
}

/// A uniform index in `0..n` (n ≥ 1, small): draws that fall in the incomplete last
/// block of `n` values are rejected, so `%` adds no bias.
fn below(
    n: usize,
    next_u32: &mut dyn FnMut() -> Result<u32, RandomUnavailable>,
) -> Result<usize, RandomUnavailable> {
    let n = n as u64;
    let span = 1u64 << 32;
    let limit = span - span % n;
    loop {
        let x = u64::from(next_u32()?);
        if x < limit {
            // x % n < n ≤ usize::MAX.
            return Ok((x % n) as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random;

    fn rule(
        length: u32,
        lowercase: bool,
        uppercase: bool,
        digits: bool,
        symbols: bool,
    ) -> PasswordRule {
        PasswordRule {
            length,
            lowercase,
            uppercase,
            digits,
            symbols,
        }
    }

    fn os(r: &PasswordRule) -> Result<String, VaultError> {
        generate(r, &mut random::next_u32)
    }

    #[test]
    fn has_the_length_and_one_of_each_enabled_class() {
        for length in [4, 5, 12, 64, 256] {
            for _ in 0..50 {
                let p = os(&rule(length, true, true, true, true)).unwrap();
                assert_eq!(p.len(), length as usize);
                assert!(p.bytes().any(|c| LOWERCASE.contains(&c)), "{p}");
                assert!(p.bytes().any(|c| UPPERCASE.contains(&c)), "{p}");
                assert!(p.bytes().any(|c| DIGITS.contains(&c)), "{p}");
                assert!(p.bytes().any(|c| SYMBOLS.contains(&c)), "{p}");
            }
        }
    }

    #[test]
    fn uses_only_enabled_classes() {
        for _ in 0..50 {
            let p = os(&rule(32, false, false, true, false)).unwrap();
            assert!(p.bytes().all(|c| c.is_ascii_digit()), "{p}");
            let p = os(&rule(32, true, false, false, true)).unwrap();
            assert!(
                p.bytes()
                    .all(|c| LOWERCASE.contains(&c) || SYMBOLS.contains(&c)),
                "{p}"
            );
            assert!(p.bytes().any(|c| SYMBOLS.contains(&c)), "{p}");
        }
    }

    #[test]
    fn refuses_bad_lengths_and_empty_rules() {
        for length in [0, 3, 257, u32::MAX] {
            assert!(matches!(
                os(&rule(length, true, true, true, true)),
                Err(VaultError::Invalid(_))
            ));
        }
        assert!(matches!(
            os(&rule(16, false, false, false, false)),
            Err(VaultError::Invalid(_))
        ));
    }

    #[test]
    fn forced_characters_do_not_stay_in_front() {
        // With only digits and symbols enabled, a digit leads about 10/35 of the time
        // if the shuffle works, and always if it does not.
        let leading_digits = (0..400)
            .filter(|_| {
                os(&rule(8, false, false, true, true)).unwrap().as_bytes()[0].is_ascii_digit()
            })
            .count();
        assert!((40..250).contains(&leading_digits), "{leading_digits}");
    }

    #[test]
    fn below_rejects_the_biased_tail() {
        // n = 3: 2^32 % 3 == 1, so the single value u32::MAX must be redrawn.
        let mut draws = vec![7, u32::MAX].into_iter();
        let mut next = || draws.next_back().ok_or(RandomUnavailable);
        assert_eq!(below(3, &mut next), Ok(7 % 3));
    }

    #[test]
    fn random_failure_is_an_error_not_a_panic() {
        let mut failing = || Err(RandomUnavailable);
        assert!(matches!(
            generate(&rule(8, true, false, false, false), &mut failing),
            Err(VaultError::Io(_))
        ));
    }

    #[test]
    fn characters_are_roughly_uniform() {
        let mut counts = [0u32; 10];
        for _ in 0..200 {
            for c in os(&rule(50, false, false, true, false)).unwrap().bytes() {
                counts[usize::from(c - b'0')] += 1;
            }
        }
        // 10,000 draws over 10 digits: 1,000 expected each, sd ≈ 30.
        assert!(
            counts.iter().all(|&n| (850..1150).contains(&n)),
            "{counts:?}"
        );
    }
}
