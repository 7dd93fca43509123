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
pub struct QuantityError(pub String);

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (got \"{}\")",
            self.0
        )
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
        let err = || QuantityError(text.to_string());
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
        let value = digits.checked_mul(binary).ok_or_else(err)?;
        let nanos = if pow >= 0 {
            value.checked_mul(10i128.checked_pow(pow as u32).ok_or_else(err)?).ok_or_else(err)?
        } else {
            let div = 10i128.checked_pow((-pow) as u32).ok_or_else(err)?;
            (value + div - 1) / div
        };
        Ok(Quantity { nanos: if negative { -nanos } else { nanos } })
    }

    /// The value in milli-units (millicores), rounded up.
    pub fn as_millis(&self) -> i64 {
        (self.nanos.div_euclid(1_000_000) + i128::from(self.nanos.rem_euclid(1_000_000) != 0)) as i64
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
        let e = Quantity::parse("12q").unwrap_err();
        assert!(e.to_string().contains("\"12q\""));
    }

    #[test]
    fn metrics_formats() {
        assert_eq!(format_cpu_nanos(0.0125), "12500000n");
        assert_eq!(format_memory_ki(1024.0 * 1024.0), "1024Ki");
        assert_eq!(format_milli(12.5), "12500m");
    }
}
