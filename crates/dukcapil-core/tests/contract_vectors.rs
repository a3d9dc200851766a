//! Every upstream answer shape from the contract note, and the request checks. The vendor's
//! documented answers are the shared fixtures in `tests/fixtures/upstream/`.

use dukcapil_core::{
    contract::{
        request::{
            parse_verify_request_json, upstream_request_body, validate_request, RequestError,
        },
        upstream::parse_upstream_response,
    },
    date::CivilDate,
    image::encode_base64,
    ErrorCode,
};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/upstream/", $name, ".json"))
    };
}

/// What a reader makes of an answer: (match, score), or the code.
type Read = Result<(bool, f64), ErrorCode>;

/// The vendor's documented answers: (file, HTTP status, body, what we read from it).
const DOCUMENTED: &[(&str, u16, &str, Read)] = &[
    ("200-match", 200, fixture!("200-match"), Ok((true, 87.5))),
    (
        "200-match-table",
        200,
        fixture!("200-match-table"),
        Ok((true, 91.0)),
    ),
    (
        "200-match-yes",
        200,
        fixture!("200-match-yes"),
        Ok((true, 77.0)),
    ),
    (
        "200-nomatch",
        200,
        fixture!("200-nomatch"),
        Ok((false, 12.25)),
    ),
    (
        "200-nik-invalid",
        200,
        fixture!("200-nik-invalid"),
        Err(ErrorCode::NikInvalid),
    ),
    (
        "200-face-fail",
        200,
        fixture!("200-face-fail"),
        Err(ErrorCode::FaceNotDetected),
    ),
    (
        "200-too-large",
        200,
        fixture!("200-too-large"),
        Err(ErrorCode::ImageTooLarge),
    ),
    (
        "400-image-missing",
        400,
        fixture!("400-image-missing"),
        Err(ErrorCode::ImageMissing),
    ),
    (
        "400-image-type",
        400,
        fixture!("400-image-type"),
        Err(ErrorCode::ImageType),
    ),
    (
        "401-unauthorized",
        401,
        fixture!("401-unauthorized"),
        Err(ErrorCode::ProxyUpstreamCredentials),
    ),
    (
        "401-token-expired",
        401,
        fixture!("401-token-expired"),
        Err(ErrorCode::ProxyUpstreamCredentials),
    ),
    (
        "423-multiple-faces",
        423,
        fixture!("423-multiple-faces"),
        Err(ErrorCode::MultipleFaces),
    ),
    (
        "429-rate-limited",
        429,
        fixture!("429-rate-limited"),
        Err(ErrorCode::UpstreamRateLimited),
    ),
    (
        "500-server-error",
        500,
        fixture!("500-server-error"),
        Err(ErrorCode::UpstreamError),
    ),
    (
        "503-busy",
        503,
        fixture!("503-busy"),
        Err(ErrorCode::UpstreamBusy),
    ),
];

#[test]
fn every_documented_answer() {
    for (name, status, body, want) in DOCUMENTED {
        assert!(name.starts_with(&status.to_string()), "{name}");
        let got = parse_upstream_response(*status, body.as_bytes());
        let meta = match &got {
            Ok(r) => (r.request_id.clone(), r.transaction_id.clone()),
            Err(f) => (f.request_id.clone(), f.transaction_id.clone()),
        };
        assert_eq!(
            meta,
            (Some("hv-req-0001".into()), Some("txn-0001".into())),
            "{name}"
        );
        let got = got.map(|r| (r.is_match, r.score)).map_err(|f| f.code);
        assert_eq!(got, *want, "{name}");
        if let Err(code) = got {
            assert!(code.upstream(), "{name}: {code}");
        }
    }
    let r = parse_upstream_response(200, fixture!("200-match").as_bytes()).unwrap();
    assert_eq!(
        r.s3_url.as_deref(),
        Some("https://s3.example/hv/selfie-3273.jpg")
    );
}

const META: &str = r#""metaData": {"requestId": "req-1", "transactionId": "txn-1"}"#;

fn ok(details: &str) -> String {
    format!(
        r#"{{"status":"success","statusCode":"200","result":{{"message":"Face matched","details":{details}}},{META}}}"#
    )
}

#[test]
fn verdicts_in_every_form_the_vendor_family_uses() {
    let cases: Vec<(String, bool, f64)> = vec![
        (ok(r#"{"score":87.5,"match":true}"#), true, 87.5),
        (ok(r#"{"score":"12","match":"false"}"#), false, 12.0),
        (ok(r#"{"score":12,"match":"no"}"#), false, 12.0),
        (ok(r#"{"score":99,"match":"YES"}"#), true, 99.0),
        // A 0–1 similarity stays as it is: the verdict is `match`.
        (
            ok(r#"{"score":0.93,"match":{"value":"yes","confidence":"high"}}"#),
            true,
            0.93,
        ),
        (ok(r#"{"match-score":"70","match":"yes"}"#), true, 70.0),
        // No statusCode at all is not a contradiction.
        (
            r#"{"status":"success","result":{"details":{"score":5,"match":false}}}"#.into(),
            false,
            5.0,
        ),
    ];
    for (body, is_match, score) in cases {
        let r = parse_upstream_response(200, body.as_bytes())
            .unwrap_or_else(|e| panic!("{body}: {e:?}"));
        assert_eq!((r.is_match, r.score), (is_match, score), "{body}");
    }
}

#[test]
fn unreadable_or_contradictory_answers_are_upstream_errors_never_a_guess() {
    let cases = [
        ok(r#"{"score":"<Score>","match":"<Match_status>"}"#),
        ok(r#"{"score":80,"match":"maybe"}"#),
        ok(r#"{"score":80,"match":1}"#),
        ok(r#"{"score":80}"#),
        ok(r#"{"match":true}"#),
        ok(r#"{"score":-1,"match":true}"#),
        ok(r#"{"score":101,"match":true}"#),
        ok(r#"{"score":"NaN","match":true}"#),
        ok(r#"{"score":null,"match":null}"#),
        ok(r#"[]"#),
        // Duplicate keys: which one would the vendor have meant?
        ok(r#"{"score":80,"match":false,"match":true}"#),
        r#"{"status":"success","status":"success","result":{"details":{"score":1,"match":true}}}"#
            .into(),
        // Not a verdict without `status: "success"`, or with another statusCode.
        r#"{"statusCode":500,"result":{"details":{"match":"yes","score":"0"}}}"#.into(),
        r#"{"result":{"details":{"match":"yes","score":"90"}}}"#.into(),
        r#"{"status":"success","statusCode":"500","result":{"details":{"match":"yes","score":"90"}}}"#.into(),
        r#"{"status":"success","statusCode":{},"result":{"details":{"match":"yes","score":"90"}}}"#.into(),
        r#"{"status":"pending","statusCode":200,"result":{"details":{"match":"yes","score":"90"}}}"#.into(),
        r#"{"status":"success","statusCode":"200"}"#.into(),
        r#"{"status":"success","result":"ok"}"#.into(),
        // Our own envelope's error.code is never honoured from an upstream.
        r#"{"status":"failure","error":{"code":"UNAUTHORIZED"}}"#.into(),
        "not json".into(),
        String::new(),
        "[1,2,3]".into(),
    ];
    for body in cases {
        let err = parse_upstream_response(200, body.as_bytes()).unwrap_err();
        assert_eq!(err.code, ErrorCode::UpstreamError, "{body}");
    }
}

#[test]
fn failures_map_to_stable_codes() {
    let invalid = |msg: &str| {
        format!(
            r#"{{"status":"success","statusCode":"200","result":{{"status":"INVALID_REQUEST","message":"{msg}"}}}}"#
        )
    };
    let error = |status: u16, msg: &str| {
        format!(r#"{{"message":"{msg}","statusCode":{status},"status":"failure",{META}}}"#)
    };
    let cases: Vec<(u16, String, ErrorCode)> = vec![
        // Refusals nobody documented: retrying cannot help, so not UPSTREAM_ERROR.
        (
            200,
            invalid("nik not found in dukcapil"),
            ErrorCode::UpstreamRejected,
        ),
        (400, error(400, "Bad thing"), ErrorCode::UpstreamRejected),
        (404, error(404, "Not found"), ErrorCode::UpstreamRejected),
        (
            418,
            "<html>teapot</html>".into(),
            ErrorCode::UpstreamRejected,
        ),
        (200, error(400, "Bad thing"), ErrorCode::UpstreamRejected),
        // Statuses that name who failed decide before any message.
        (
            500,
            error(500, "nik format is not valid"),
            ErrorCode::UpstreamError,
        ),
        (503, error(503, "Image not found"), ErrorCode::UpstreamBusy),
        (
            401,
            error(401, "Image not found"),
            ErrorCode::ProxyUpstreamCredentials,
        ),
        (403, "".into(), ErrorCode::ProxyUpstreamCredentials),
        (
            302,
            ok(r#"{"score":90,"match":true}"#),
            ErrorCode::UpstreamError,
        ),
        (307, "".into(), ErrorCode::UpstreamError),
        (
            201,
            ok(r#"{"score":90,"match":true}"#),
            ErrorCode::UpstreamError,
        ),
        // The status decides when the body is not JSON (a gateway's HTML page).
        (
            429,
            "<html>slow down</html>".into(),
            ErrorCode::UpstreamRateLimited,
        ),
        (503, "".into(), ErrorCode::UpstreamBusy),
        (
            502,
            "<html>bad gateway</html>".into(),
            ErrorCode::UpstreamError,
        ),
        (413, "<html>too big</html>".into(), ErrorCode::ImageTooLarge),
        (401, "".into(), ErrorCode::ProxyUpstreamCredentials),
        // A failure body delivered with HTTP 200.
        (200, error(400, "Image not found"), ErrorCode::ImageMissing),
        (200, error(500, "odd"), ErrorCode::UpstreamError),
        (
            200,
            r#"{"status":"failure","message":"odd"}"#.into(),
            ErrorCode::UpstreamError,
        ),
    ];
    for (status, body, code) in cases {
        let err = parse_upstream_response(status, body.as_bytes()).unwrap_err();
        assert_eq!(err.code, code, "{status} {body}");
        assert_eq!(err.http_status, status);
        assert!(code.upstream());
    }
}

#[test]
fn request_bodies_are_read_strictly() {
    type Fields<'a> = (Option<&'a str>, Option<&'a [u8]>);
    let cases: &[(&str, Result<Fields, ErrorCode>)] = &[
        (
            r#"{"id":"3273010101900001","image":"QUJD"}"#,
            Ok((Some("3273010101900001"), Some(b"QUJD"))),
        ),
        (r#"{"image":"QUJD"}"#, Ok((None, Some(b"QUJD")))),
        (r#"{"id":null,"image":null}"#, Ok((None, None))),
        (
            r#"{"id":"1","image":"a\/b"}"#,
            Ok((Some("1"), Some(b"a/b"))),
        ),
        (
            r#"{"id":3273010101900001,"image":"QUJD"}"#,
            Err(ErrorCode::RequestInvalid),
        ),
        (
            r#"{"id":"1","image":"QUJD","extra":1}"#,
            Err(ErrorCode::RequestInvalid),
        ),
        (
            r#"{"id":"1","id":"2","image":"QUJD"}"#,
            Err(ErrorCode::RequestInvalid),
        ),
        (
            r#"{"id":"1","image":["QUJD"]}"#,
            Err(ErrorCode::RequestInvalid),
        ),
        (
            r#"["3273010101900001","QUJD"]"#,
            Err(ErrorCode::RequestInvalid),
        ),
        (
            r#"{"id":"1","image":"QUJD"} trailing"#,
            Err(ErrorCode::RequestInvalid),
        ),
        ("", Err(ErrorCode::RequestInvalid)),
        ("null", Err(ErrorCode::RequestInvalid)),
    ];
    for (body, want) in cases {
        let got = parse_verify_request_json(body.as_bytes());
        let got = got
            .as_ref()
            .map(|r| (r.id.as_deref(), r.image.as_deref()))
            .map_err(|e| *e);
        assert_eq!(got, *want, "{body}");
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(
        parse_verify_request_json(deep.as_bytes()),
        Err(ErrorCode::RequestInvalid)
    );
}

#[test]
fn requests_are_validated_before_anything_is_sent() {
    let today = CivilDate::new(2026, 11, 26).unwrap();
    let jpeg = encode_base64(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 4, 5]);
    let valid = validate_request("3273 0101 0190 0001", &jpeg, today).unwrap();
    assert_eq!(valid.nik.normalized(), "3273010101900001");
    let body = upstream_request_body(&valid.nik, &valid.image);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({ "id": "3273010101900001", "image": jpeg.as_str() })
    );
    // A data: URL goes upstream as raw base64.
    let url = format!("data:image/jpeg;base64,{jpeg}");
    let valid = validate_request("3273010101900001", &url, today).unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&upstream_request_body(&valid.nik, &valid.image)).unwrap();
    assert_eq!(v["image"], jpeg.as_str());
    // Read from a body, the same checks give the same answer as from strings.
    let body = format!(r#"{{"id":"3273010101900001","image":"{url}"}}"#);
    let read = parse_verify_request_json(body.as_bytes()).unwrap();
    let from_body = read.validate(today).unwrap();
    assert_eq!(from_body.image.base64_str(), jpeg);

    let cases: &[(&str, &str, ErrorCode)] = &[
        ("", &jpeg, ErrorCode::NikEmpty),
        ("5473010101900001", &jpeg, ErrorCode::NikProvince),
        ("5473010101900001", "@@@", ErrorCode::NikProvince),
        ("3273010101900001", "", ErrorCode::ImageMissing),
        ("3273010101900001", "QUJ", ErrorCode::ImageBase64),
        ("3273010101900001", "PHN2Zz4=", ErrorCode::ImageType),
    ];
    for (id, image, code) in cases {
        let err: RequestError = validate_request(id, image, today).unwrap_err();
        assert_eq!(err.code(), *code, "{id} {image}");
    }
}
