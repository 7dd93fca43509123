//! Kubernetes resource quantities (`250m`, `1.5`, `512Mi`, `1e3`, `2G`), parsed exactly.
//!
//! A quantity is kept as an integer number of nano-units, which holds every value the API
//! allows for CPU and memory without rounding (up to ~9.2 × 10⁹ units: 9 exabytes of memory
//! would not fit, no node has that).

use std::fmt;

/// A parsed quantity in nano-units (1 = 10⁻⁹ of the base unit: cores or bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity {
    nanos: i128,
}

/// Why a quantity string is not a quantity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuantityError {
    /// Not in the quantity syntax.
    Syntax(String),
    /// In the syntax, but larger than any CPU or memory figure can be: beyond ±2⁶³ units
    /// (9.2 × 10¹⁸ bytes), where whole units would no longer fit an `i64`.
    TooLarge(String),
}

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantityError::Syntax(text) => write!(
                f,
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (got \"{text}\")"
            ),
            QuantityError::TooLarge(text) => {
                write!(f, "quantity \"{text}\" is too large (at most 9223372036854775807)")
            }
        }
    }
}

impl std::error::Error for QuantityError {}

impl Quantity {
    pub const ZERO: Quantity = Quantity { nanos: 0 };

    pub fn from_millis(millis: i64) -> Self {
        Quantity { nanos: i128::from(millis) * 1_000_000 }
    }

    pub fn from_units(units: i64) -> Self {
        Quantity { nanos: i128::from(units) * 1_000_000_000 }
    }

    /// Parses the Kubernetes quantity syntax: a decimal number, then an optional binary
    /// suffix (Ki Mi Gi Ti Pi Ei), decimal suffix (n u m k M G T P E) or exponent (e3, E-2).
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let err = || QuantityError::Syntax(text.to_string());
        let too_large = || QuantityError::TooLarge(text.to_string());
        let s = text.trim();
        if s.is_empty() || s != text {
            return Err(err());
        }
        let (negative, body) = match s.as_bytes()[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let number_end = body.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(body.len());
        let (number, suffix) = body.split_at(number_end);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(err());
        }
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));

        // value = digits × 10^(-fraction_len) × multiplier
        let digits: String = format!("{whole}{fraction}");
        let digits: i128 = if digits.is_empty() { 0 } else { digits.parse().map_err(|_| err())? };
        let mut scale_pow10: i32 = -(fraction.len() as i32);
        let mut binary: i128 = 1;
        match suffix {
            "" => {}
            "n" => scale_pow10 -= 9,
            "u" => scale_pow10 -= 6,
            "m" => scale_pow10 -= 3,
            "k" => scale_pow10 += 3,
            "M" => scale_pow10 += 6,
            "G" => scale_pow10 += 9,
            "T" => scale_pow10 += 12,
            "P" => scale_pow10 += 15,
            "E" => scale_pow10 += 18,
            "Ki" => binary = 1 << 10,
            "Mi" => binary = 1 << 20,
            "Gi" => binary = 1 << 30,
            "Ti" => binary = 1 << 40,
            "Pi" => binary = 1 << 50,
            "Ei" => binary = 1 << 60,
            exp if exp.starts_with(['e', 'E']) => {
                let e: i32 = exp[1..].parse().map_err(|_| err())?;
                if !(-30..=30).contains(&e) {
                    return Err(err());
                }
                scale_pow10 += e;
            }
            _ => return Err(err()),
        }
        // To nano-units; anything finer than a nano-unit rounds up, as Kubernetes does.
        let pow = scale_pow10 + 9;
        let value = digits.checked_mul(binary).ok_or_else(too_large)?;
        let nanos = if pow >= 0 {
            value.checked_mul(10i128.checked_pow(pow as u32).ok_or_else(too_large)?).ok_or_else(too_large)?
        } else {
            // Dividing first: `value + div - 1` could overflow for a 38-digit number.
            match 10i128.checked_pow((-pow) as u32) {
                Some(div) => value / div + i128::from(value % div != 0),
                None => i128::from(value != 0),
            }
        };
        if nanos / 1_000_000_000 >= i128::from(i64::MAX) {
            return Err(too_large());
        }
        Ok(Quantity { nanos: if negative { -nanos } else { nanos } })
    }

    /// The value in milli-units (millicores), rounded up.
    /// Saturates beyond ±2⁶³ millicores (an exabyte of memory in milli-bytes), which no CPU has.
    pub fn as_millis(&self) -> i64 {
        let millis = self.nanos.div_euclid(1_000_000) + i128::from(self.nanos.rem_euclid(1_000_000) != 0);
        i64::try_from(millis).unwrap_or(if millis < 0 { i64::MIN } else { i64::MAX })
    }

    /// The value in whole units (bytes), rounded up.
    pub fn as_units(&self) -> i64 {
        (self.nanos.div_euclid(1_000_000_000) + i128::from(self.nanos.rem_euclid(1_000_000_000) != 0)) as i64
    }

    /// The value as a float in base units.
    pub fn as_f64(&self) -> f64 {
        self.nanos as f64 / 1e9
    }

    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }
}

/// CPU in the form metrics-server reports: whole nanocores, e.g. `12500000n`.
pub fn format_cpu_nanos(cores: f64) -> String {
    format!("{}n", (cores * 1e9).round().max(0.0) as i64)
}

/// CPU in cores as metrics-server writes it ([`format_cpu_nanos`]) and the HPA controller then
/// reads it (`MilliValue`): whole millicores, rounded up.
pub fn cpu_millis_as_read(cores: f64) -> i64 {
    let nanos = (cores * 1e9).round().max(0.0) as i64;
    (nanos + 999_999) / 1_000_000
}

/// Memory in bytes as metrics-server writes it ([`format_memory_ki`]): whole kibibytes.
pub fn memory_bytes_as_read(bytes: f64) -> i64 {
    (bytes / 1024.0).round().max(0.0) as i64 * 1024
}

/// Memory in the form metrics-server reports: kibibytes, e.g. `524288Ki`.
pub fn format_memory_ki(bytes: f64) -> String {
    format!("{}Ki", (bytes / 1024.0).round().max(0.0) as i64)
}

/// A value with milli precision, e.g. `12500m` for 12.5.
pub fn format_milli(value: f64) -> String {
    format!("{}m", (value * 1000.0).round().max(0.0) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(s: &str) -> i64 {
        Quantity::parse(s).unwrap().as_millis()
    }

    fn bytes(s: &str) -> i64 {
        Quantity::parse(s).unwrap().as_units()
    }

    #[test]
    fn cpu_forms() {
        assert_eq!(millis("250m"), 250);
        assert_eq!(millis("1"), 1000);
        assert_eq!(millis("1.5"), 1500);
        assert_eq!(millis("0.1"), 100);
        assert_eq!(millis("100000000n"), 100);
        assert_eq!(millis("500000u"), 500);
        assert_eq!(millis("1n"), 1, "rounded up to the next millicore");
        assert_eq!(millis("2e-3"), 2);
    }

    #[test]
    fn memory_forms() {
        assert_eq!(bytes("128974848"), 128_974_848);
        assert_eq!(bytes("129e6"), 129_000_000);
        assert_eq!(bytes("129M"), 129_000_000);
        assert_eq!(bytes("123Mi"), 123 * 1024 * 1024);
        assert_eq!(bytes("1Gi"), 1 << 30);
        assert_eq!(bytes("1.5Gi"), 3 << 29);
        assert_eq!(bytes("2Ti"), 2 << 40);
        assert_eq!(bytes("1k"), 1000);
        assert_eq!(bytes("1Ki"), 1024);
        assert_eq!(bytes("1E"), 1_000_000_000_000_000_000);
    }

    #[test]
    fn signs_and_zero() {
        assert_eq!(millis("0"), 0);
        assert_eq!(millis("+5"), 5000);
        assert!(Quantity::parse("-1").unwrap().is_negative());
    }

    #[test]
    fn malformed_quantities_are_refused() {
        for bad in ["", " 1", "abc", "1.2.3", "1KiB", "Mi", "1 Mi", "1x", ".", "1e", "1e99", "--1"] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} should be refused");
        }
        // Found by the property tests: a 38-digit number with a fraction overflowed on rounding.
        assert!(matches!(
            Quantity::parse("1701411834604692317316873037158841057.27n"),
            Err(QuantityError::TooLarge(_))
        ));
        let huge = Quantity::parse("9999999999999999999999999999E").unwrap_err();
        assert!(huge.to_string().contains("too large"), "{huge}");
        assert_eq!(millis("9223372036854775806m"), 9_223_372_036_854_775_806);
        assert_eq!(millis("1E"), i64::MAX, "millicores saturate rather than wrap");
        assert_eq!(millis("1e-30"), 1, "the smallest positive amount still rounds up");
        let e = Quantity::parse("12q").unwrap_err();
        assert!(e.to_string().contains("\"12q\""));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Text that looks like a quantity: a sign, digits with a point, a suffix or exponent.
        fn quantity_like() -> impl Strategy<Value = String> {
            "[+-]?[0-9]{0,45}(\\.[0-9]{0,45})?(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]{1,3})?"
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// Whatever a manifest or the metrics API sends, parsing answers; it never panics.
            #[test]
            fn any_text_is_parsed_or_refused(text in any::<String>(), like in quantity_like()) {
                let _ = Quantity::parse(&text);
                if let Ok(q) = Quantity::parse(&like) {
                    // Accepted figures fit: millicores and bytes keep their sign.
                    prop_assert_eq!(q.as_millis() < 0, q.is_negative() && q.as_millis() != 0);
                    prop_assert_eq!(q.as_units().signum() * q.as_millis().signum() >= 0, true);
                }
            }

            /// A refusal names the text it refused.
            #[test]
            fn a_refusal_quotes_the_text(text in "[a-zA-Z0-9.+-]{0,12}") {
                if let Err(e) = Quantity::parse(&text) {
                    let quoted = format!("\"{}\"", text);
                    prop_assert!(e.to_string().contains(&quoted));
                }
            }

            /// Millicores and bytes written by Paydeck or kubectl read back exactly.
            #[test]
            fn whole_units_round_trip(m in -1_000_000_000_000i64..1_000_000_000_000, b in 0i64..(1 << 50)) {
                prop_assert_eq!(Quantity::parse(&format!("{m}m")).unwrap().as_millis(), m);
                prop_assert_eq!(Quantity::parse(&b.to_string()).unwrap().as_units(), b);
                prop_assert_eq!(Quantity::parse(&format!("{b}Ki")).unwrap().as_units(), b * 1024);
                prop_assert_eq!(Quantity::parse(&format!("{b}k")).unwrap().as_units(), b * 1000);
            }

            /// The same amount in decimal, milli and exponent form is the same quantity.
            #[test]
            fn equivalent_forms_are_equal(whole in 0i64..1_000_000, frac in 0i64..1000) {
                let decimal = Quantity::parse(&format!("{whole}.{frac:03}")).unwrap();
                let milli = Quantity::parse(&format!("{}m", whole * 1000 + frac)).unwrap();
                let exponent = Quantity::parse(&format!("{}e-3", whole * 1000 + frac)).unwrap();
                prop_assert_eq!(decimal, milli);
                prop_assert_eq!(milli, exponent);
            }

            /// What Paydeck writes for the metrics API reads back within its rounding.
            #[test]
            fn metrics_forms_read_back(cores in 0.0f64..10_000.0, bytes in 0.0f64..1e13) {
                let millis = Quantity::parse(&format_milli(cores)).unwrap().as_f64();
                prop_assert!((millis - cores).abs() <= 0.0005 + 1e-9);
                let nanos = Quantity::parse(&format_cpu_nanos(cores)).unwrap().as_f64();
                prop_assert!((nanos - cores).abs() <= 1e-9 * 0.5 + cores * 1e-12);
                let ki = Quantity::parse(&format_memory_ki(bytes)).unwrap().as_f64();
                prop_assert!((ki - bytes).abs() <= 512.0 + bytes * 1e-12);
            }
        }
    }

    #[test]
    fn metrics_formats() {
        assert_eq!(format_cpu_nanos(0.0125), "12500000n");
        assert_eq!(format_memory_ki(1024.0 * 1024.0), "1024Ki");
        assert_eq!(format_milli(12.5), "12500m");
    }
}
