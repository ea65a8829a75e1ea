use std::io::Write;
use std::time::Duration;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use proptest::prelude::*;

use super::*;
use crate::key::FailureKind;
use crate::sparse::value_at_index;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Serializer;

fn sample() -> Interval {
    let mut i = Interval::new();
    let f = Failure::new(FailureKind::Status, "HTTP 503, \"quoted\"");
    for n in 0..200u64 {
        let key = RequestKey::new(
            if n % 3 == 0 { "POST" } else { "GET" },
            format!("/r{}", n % 7),
        );
        let failure = (n % 11 == 0).then_some(&f);
        i.record(&key, Duration::from_micros(n * n * 37), n * 10, failure);
    }
    i.record(
        &RequestKey::new("GET", "/slow"),
        Duration::from_secs(10_000),
        1,
        None,
    );
    i
}

#[test]
fn round_trip_is_lossless() {
    let i = sample();
    let bytes = i.to_bytes();
    let back = Interval::from_bytes(&bytes);
    assert_eq!(back.as_ref(), Ok(&i));
    // Deterministic encoding.
    assert_eq!(bytes, i.to_bytes());
    // Decoded histograms can still grow when merged.
    let mut back = back.unwrap_or_default();
    back.merge(sample());
    assert_eq!(back.request_count(), 2 * i.request_count());
}

#[test]
fn empty_round_trip() {
    let i = Interval::new();
    assert_eq!(Interval::from_bytes(&i.to_bytes()), Ok(i));
}

#[test]
fn rejects_garbage_headers() {
    assert_eq!(Interval::from_bytes(b""), Err(DecodeError::Truncated));
    assert_eq!(Interval::from_bytes(b"CIV"), Err(DecodeError::Truncated));
    assert_eq!(
        Interval::from_bytes(b"XXXX\x01\0\0\0\0"),
        Err(DecodeError::BadMagic)
    );
    assert_eq!(
        Interval::from_bytes(b"CIVL\x07\0\0\0\0"),
        Err(DecodeError::UnsupportedVersion(7))
    );
    assert!(matches!(
        Interval::from_bytes(b"CIVL\x01\0\0\0\x02{]"),
        Err(DecodeError::Header(_))
    ));
    let mut extra = Interval::new().to_bytes();
    extra.push(0);
    assert_eq!(
        Interval::from_bytes(&extra),
        Err(DecodeError::TrailingBytes(1))
    );
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = sample().to_bytes();
    for len in 0..bytes.len() {
        assert!(Interval::from_bytes(&bytes[..len]).is_err(), "len {len}");
    }
}

/// Builds an interval with one row whose histogram blob is `blob`.
fn with_blob(count: u64, blob: &[u8]) -> Vec<u8> {
    let header = format!(
        r#"{{"entries":[{{"method":"GET","name":"/x","count":{count},"failures":0,"sum_us":1,"min_us":1,"max_us":1,"bytes":0,"hist_len":{}}}],"failures":[]}}"#,
        blob.len()
    );
    let mut out = b"CIVL\x01".to_vec();
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(blob);
    out
}

/// A V2+DEFLATE blob with the given header fields and raw (already varint-encoded) payload.
fn v2_blob(sigfig: u32, low: u64, high: u64, payload: &[u8]) -> Vec<u8> {
    let mut v2 = Vec::new();
    v2.extend_from_slice(&V2_COOKIE.to_be_bytes());
    v2.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v2.extend_from_slice(&0u32.to_be_bytes());
    v2.extend_from_slice(&sigfig.to_be_bytes());
    v2.extend_from_slice(&low.to_be_bytes());
    v2.extend_from_slice(&high.to_be_bytes());
    v2.extend_from_slice(&1.0f64.to_bits().to_be_bytes());
    v2.extend_from_slice(payload);
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
    let _ = enc.write_all(&v2);
    let compressed = enc.finish().unwrap_or_default();
    let mut blob = V2_COMPRESSED_COOKIE.to_be_bytes().to_vec();
    blob.extend_from_slice(&(compressed.len() as u32).to_be_bytes());
    blob.extend_from_slice(&compressed);
    blob
}

#[test]
fn hand_built_histogram_is_accepted() {
    // zig-zag(1) = 2, zig-zag(-1) = 1: counter 0 = 0, counter 1 = 1.
    let blob = v2_blob(3, 1, 2048, &[1, 2]);
    let i = Interval::from_bytes(&with_blob(1, &blob));
    assert_eq!(i.map(|i| i.request_count()), Ok(1));
    assert_eq!(counts_len_for(2), 2048);
    assert_eq!(counts_len_for(2048), 3072);
}

#[test]
fn counts_len_matches_hdrhistogram() {
    for high in [
        2u64,
        2047,
        2048,
        4095,
        4096,
        1_000_000,
        3_600_000_000,
        MAX_HIGH,
    ] {
        let h = Histogram::<u64>::new_with_bounds(1, high, 3);
        assert_eq!(
            h.map(|h| h.distinct_values() as u64).ok(),
            Some(counts_len_for(high)),
            "high {high}"
        );
    }
}

#[test]
fn rejects_hostile_histograms() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // The varint of zig-zag(i64::MIN) = u64::MAX: would overflow a negation.
        ("i64::MIN", v2_blob(3, 1, 2048, &[0xff; 9])),
        // A range that would allocate gigabytes.
        ("huge high", v2_blob(5, 1, u64::MAX, &[2])),
        ("high above limit", v2_blob(3, 1, u64::MAX, &[2])),
        ("wrong sigfig", v2_blob(2, 1, 2048, &[2])),
        ("wrong low", v2_blob(3, 1000, 1_000_000, &[2])),
        // Counts beyond the array.
        (
            "index overflow",
            v2_blob(3, 1, 2048, &[0xfe, 0xff, 0x03, 2]),
        ),
        // Total does not match the row's count of 1.
        ("count mismatch", v2_blob(3, 1, 2048, &[4])),
        ("truncated varint", v2_blob(3, 1, 2048, &[0x80])),
        ("not compressed", b"\x1c\x84\x93\x14\0\0\0\x02ab".to_vec()),
        ("bad cookie", b"\0\0\0\0\0\0\0\0".to_vec()),
    ];
    for (what, blob) in cases {
        let r = Interval::from_bytes(&with_blob(1, &blob));
        assert!(r.is_err(), "{what}: {r:?}");
    }
}

#[test]
fn rejects_inconsistent_rows() {
    let good = v2_blob(3, 1, 2048, &[1, 2]);
    for (count, failures, min, max) in [(0u64, 0u64, 1u64, 1u64), (1, 2, 1, 1), (1, 0, 5, 1)] {
        let header = format!(
            r#"{{"entries":[{{"method":"GET","name":"/x","count":{count},"failures":{failures},"sum_us":1,"min_us":{min},"max_us":{max},"bytes":0,"hist_len":{}}}],"failures":[]}}"#,
            good.len()
        );
        let mut b = b"CIVL\x01".to_vec();
        b.extend_from_slice(&(header.len() as u32).to_be_bytes());
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(&good);
        assert!(matches!(
            Interval::from_bytes(&b),
            Err(DecodeError::Inconsistent { .. })
        ));
    }
}

#[test]
fn budget_caps_total_histogram_size() {
    // Each histogram claims the full 2^32 range (~24k counters); 400 of them exceed the budget.
    let blob = v2_blob(3, 1, MAX_HIGH, &[1, 2]);
    let mut entries = Vec::new();
    let mut blobs = Vec::new();
    for n in 0..400 {
        entries.push(format!(
            r#"{{"method":"GET","name":"/x{n}","count":1,"failures":0,"sum_us":1,"min_us":1,"max_us":1,"bytes":0,"hist_len":{}}}"#,
            blob.len()
        ));
        blobs.extend_from_slice(&blob);
    }
    let header = format!(r#"{{"entries":[{}],"failures":[]}}"#, entries.join(","));
    let mut b = b"CIVL\x01".to_vec();
    b.extend_from_slice(&(header.len() as u32).to_be_bytes());
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(&blobs);
    assert_eq!(
        Interval::from_bytes(&b),
        Err(DecodeError::TooLarge("histograms too large"))
    );
}

proptest! {
    // Debug builds of hdrhistogram and flate2 are slow; fewer cases keep the suite quick.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Interval::from_bytes(&bytes);
        let mut framed = b"CIVL\x01".to_vec();
        framed.extend_from_slice(&bytes);
        let _ = Interval::from_bytes(&framed);
    }

    #[test]
    fn mutated_encodings_never_panic(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = sample().to_bytes();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        let _ = Interval::from_bytes(&bytes);
    }
}

#[test]
fn merging_encoded_bytes_equals_merging_decoded_intervals() {
    let mut a = sample();
    let mut b = Interval::new();
    b.record(
        &RequestKey::new("GET", "/r1"),
        Duration::from_millis(3),
        5,
        None,
    );
    b.record(
        &RequestKey::new("GET", "/new"),
        Duration::from_secs(2),
        5,
        None,
    );
    let mut via_decode = b.clone();
    via_decode.merge(Interval::from_bytes(&a.to_bytes()).expect("decodes"));
    b.merge_bytes(&a.to_bytes()).expect("merges");
    assert_eq!(b, via_decode);
    // A bad input changes nothing, even when its first rows were fine.
    let before = b.clone();
    let mut bytes = a.to_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    assert!(b.merge_bytes(&bytes).is_err());
    assert_eq!(b, before);
    // Merging into itself doubles every count.
    let once = a.request_count();
    a.merge_bytes(&a.to_bytes()).expect("merges");
    assert_eq!(a.request_count(), 2 * once);
}

#[test]
fn every_counter_index_maps_back_to_itself() {
    let mut h: Histogram<u64> = crate::hist::new_hist(crate::hist::SIGFIG);
    for v in [
        1u64,
        2,
        1023,
        1024,
        2047,
        2048,
        2049,
        4095,
        4096,
        123_456,
        3_599_999_999,
    ] {
        h.reset();
        h.record(v).expect("records");
        let index = h
            .iter_recorded()
            .next()
            .map(|x| x.value_iterated_to())
            .expect("one");
        let lowest = h.lowest_equivalent(v);
        let mut again: Histogram<u64> = crate::hist::new_hist(crate::hist::SIGFIG);
        // The value of the counter that holds `v`, recorded again, lands in the same counter.
        let mut sparse = Vec::new();
        let blob = {
            let mut out = Vec::new();
            hdrhistogram::serialization::V2DeflateSerializer::new()
                .serialize(&h, &mut out)
                .expect("serializes");
            out
        };
        let mut budget = MAX_DECODED_CELLS;
        decode_sparse(&blob, &mut budget, &mut sparse)
            .map_err(|_| ())
            .expect("decodes");
        assert_eq!(sparse.len(), 1);
        assert_eq!(value_at_index(sparse[0].0), lowest, "value {v}");
        again.record(value_at_index(sparse[0].0)).expect("records");
        assert_eq!(
            again.iter_recorded().next().map(|x| x.value_iterated_to()),
            Some(index)
        );
    }
}
