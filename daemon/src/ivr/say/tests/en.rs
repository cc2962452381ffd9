//! English: hand-written expectations.

use super::*;

const LANG: Lang = Lang::En;

#[test]
fn numbers() {
    check(
        LANG,
        SayAs::Number,
        &SayOptions::default(),
        &[
            ("0", "zero"),
            ("1", "one"),
            ("2", "two"),
            ("10", "ten"),
            ("11", "eleven"),
            ("12", "twelve"),
            ("13", "thirteen"),
            ("14", "fourteen"),
            ("15", "fifteen"),
            ("16", "sixteen"),
            ("17", "seventeen"),
            ("18", "eighteen"),
            ("19", "nineteen"),
            ("20", "twenty"),
            ("21", "twenty-one"),
            ("30", "thirty"),
            ("40", "forty"),
            ("45", "forty-five"),
            ("57", "fifty-seven"),
            ("60", "sixty"),
            ("70", "seventy"),
            ("80", "eighty"),
            ("90", "ninety"),
            ("99", "ninety-nine"),
            ("100", "one hundred"),
            ("101", "one hundred and one"),
            ("110", "one hundred and ten"),
            ("111", "one hundred and eleven"),
            ("200", "two hundred"),
            ("300", "three hundred"),
            ("350", "three hundred and fifty"),
            ("999", "nine hundred and ninety-nine"),
            ("1000", "one thousand"),
            ("1001", "one thousand and one"),
            ("1010", "one thousand and ten"),
            ("1100", "one thousand one hundred"),
            ("1234", "one thousand two hundred and thirty-four"),
            ("2000", "two thousand"),
            ("5005", "five thousand and five"),
            ("10000", "ten thousand"),
            ("10010", "ten thousand and ten"),
            ("12000", "twelve thousand"),
            ("20000", "twenty thousand"),
            ("50050", "fifty thousand and fifty"),
            ("100000", "one hundred thousand"),
            ("101000", "one hundred and one thousand"),
            ("1000000", "one million"),
            ("1000001", "one million and one"),
            ("1000100", "one million one hundred"),
            ("100000000", "one hundred million"),
            (
                "123456789",
                "one hundred and twenty-three million, four hundred and fifty-six thousand, seven hundred and eighty-nine",
            ),
            ("1000000000", "one billion"),
            ("2000000005", "two billion and five"),
            (
                "999999999999",
                "nine hundred and ninety-nine billion, nine hundred and ninety-nine million, \
                 nine hundred and ninety-nine thousand, nine hundred and ninety-nine",
            ),
            ("007", "seven"),
            ("+5", "five"),
            ("-0", "zero"),
            ("-1", "minus one"),
            ("-12", "minus twelve"),
            ("-1001", "minus one thousand and one"),
            ("3.25", "three point two five"),
            ("0.5", "zero point five"),
            ("-0.75", "minus zero point seven five"),
            ("10.05", "ten point zero five"),
            ("1.0", "one point zero"),
            ("100.001", "one hundred point zero zero one"),
        ],
    );
}

#[test]
fn money() {
    check(
        LANG,
        SayAs::Money,
        &SayOptions::default(),
        &[
            ("12.50", "twelve dollars and fifty cents"),
            ("12.5", "twelve dollars and fifty cents"),
            ("1", "one dollar"),
            ("1.01", "one dollar and one cent"),
            ("0.99", "ninety-nine cents"),
            ("0.01", "one cent"),
            ("0", "zero dollars"),
            ("2.00", "two dollars"),
            ("-3", "minus three dollars"),
            ("-12.5", "minus twelve dollars and fifty cents"),
            ("1000000", "one million dollars"),
            ("101.10", "one hundred and one dollars and ten cents"),
        ],
    );
    check(
        LANG,
        SayAs::Money,
        &options(None, Some("CNY")),
        &[("12.50", "twelve yuan and fifty fen"), ("1.01", "one yuan and one fen")],
    );
    check(
        LANG,
        SayAs::Money,
        &options(None, Some("RUB")),
        &[("1.01", "one ruble and one kopeck"), ("2.5", "two rubles and fifty kopecks")],
    );
}

#[test]
fn dates() {
    check(
        LANG,
        SayAs::Date,
        &SayOptions::default(),
        &[
            ("2026-11-21", "Saturday, November twenty-first, twenty twenty-six"),
            ("2000-01-01", "Saturday, January first, two thousand"),
            ("2005-07-04", "Monday, July fourth, two thousand and five"),
            ("1999-12-31", "Friday, December thirty-first, nineteen ninety-nine"),
            ("1905-03-02", "Thursday, March second, nineteen oh five"),
            ("1900-06-15", "Friday, June fifteenth, nineteen hundred"),
            ("2010-10-10", "Sunday, October tenth, twenty ten"),
            ("2024-02-29", "Thursday, February twenty-ninth, twenty twenty-four"),
        ],
    );
}

#[test]
fn times() {
    check(
        LANG,
        SayAs::Time,
        &SayOptions::default(),
        &[
            ("14:05", "two oh five p m"),
            ("14:00", "two p m"),
            ("00:00", "twelve a m"),
            ("12:00", "twelve p m"),
            ("00:30", "twelve thirty a m"),
            ("09:45", "nine forty-five a m"),
            ("9:05", "nine oh five a m"),
            ("13:10", "one ten p m"),
            ("23:59", "eleven fifty-nine p m"),
            ("14:05:30", "two oh five p m and thirty seconds"),
            ("07:00:01", "seven a m and one second"),
            ("07:00:00", "seven a m"),
        ],
    );
}

#[test]
fn durations() {
    check(
        LANG,
        SayAs::Duration,
        &SayOptions::default(),
        &[
            ("125", "two minutes five seconds"),
            ("1h2m5s", "one hour two minutes five seconds"),
            ("0", "zero seconds"),
            ("1", "one second"),
            ("60", "one minute"),
            ("90s", "one minute thirty seconds"),
            ("3600", "one hour"),
            ("7200", "two hours"),
            ("1h1s", "one hour one second"),
            ("3661", "one hour one minute one second"),
        ],
    );
}

#[test]
fn ordinals() {
    check(
        LANG,
        SayAs::Ordinal,
        &SayOptions::default(),
        &[
            ("0", "zeroth"),
            ("1", "first"),
            ("2", "second"),
            ("3", "third"),
            ("11", "eleventh"),
            ("12", "twelfth"),
            ("20", "twentieth"),
            ("21", "twenty-first"),
            ("22", "twenty-second"),
            ("100", "one hundredth"),
            ("101", "one hundred and first"),
            ("111", "one hundred and eleventh"),
            ("1000", "one thousandth"),
            ("1001", "one thousand and first"),
            ("1000000", "one millionth"),
            ("2000000000", "two billionth"),
        ],
    );
}

#[test]
fn digits() {
    check(
        LANG,
        SayAs::Digits,
        &SayOptions::default(),
        &[
            ("13800138000", "one three eight zero zero one three eight zero zero zero"),
            ("555-0199", "five five five zero one nine nine"),
        ],
    );
}
