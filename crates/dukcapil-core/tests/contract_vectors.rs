//! Every upstream answer shape from the contract note, and the request checks.

use dukcapil_core::{
    contract::{
        error_envelope, parse_upstream_response, parse_verify_request_json, success_envelope,
        upstream_request_body, validate_request, MatchResult, RequestError,
    },
    date::CivilDate,
    image::encode_base64,
    ErrorCode,
};

const META: &str = r#""metaData": {"requestId": "req-1", "transactionId": "txn-1"}"#;

fn ok(details: &str) -> String {
    format!(
        r#"{{"status":"success","statusCode":"200","result":{{"message":"Face matched","details":{details},"s3Url":"https://s3.example/x.jpg"}},{META}}}"#
    )
}

#[test]
fn verdicts_in_every_documented_form() {
    let table_form = format!(
        r#"{{"status":"success","statusCode":200,"result":{{"status":"SUCCESS","message":{{"score":91,"match":true}}}},{META}}}"#
    );
    let cases: Vec<(String, bool, f64)> = vec![
        (ok(r#"{"score":"87.5","match":"true"}"#), true, 87.5),
        (ok(r#"{"score":87.5,"match":true}"#), true, 87.5),
        (ok(r#"{"score":"12","match":"false"}"#), false, 12.0),
        (ok(r#"{"score":12,"match":"no"}"#), false, 12.0),
        (ok(r#"{"score":99,"match":"YES"}"#), true, 99.0),
        (
            ok(r#"{"score":0.93,"match":{"value":"yes","confidence":"high"}}"#),
            true,
            0.93,
        ),
        (ok(r#"{"match-score":"70","match":"yes"}"#), true, 70.0),
        (table_form, true, 91.0),
    ];
    for (body, is_match, score) in cases {
        let r = parse_upstream_response(200, body.as_bytes())
            .unwrap_or_else(|e| panic!("{body}: {e:?}"));
        assert_eq!((r.is_match, r.score), (is_match, score), "{body}");
        assert_eq!(r.request_id.as_deref(), Some("req-1"));
        assert_eq!(r.transaction_id.as_deref(), Some("txn-1"));
    }
    let r = parse_upstream_response(200, ok(r#"{"score":1,"match":true}"#).as_bytes()).unwrap();
    assert_eq!(r.s3_url.as_deref(), Some("https://s3.example/x.jpg"));
}

#[test]
fn unreadable_verdicts_are_upstream_errors_never_a_guess() {
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
        r#"{"status":"success","statusCode":"200"}"#.to_string(),
        r#"{"status":"success","result":"ok"}"#.to_string(),
        "not json".to_string(),
        String::new(),
        "[1,2,3]".to_string(),
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
        (
            200,
            invalid("nik format is not valid"),
            ErrorCode::NikInvalid,
        ),
        (
            200,
            invalid("input image detect face fail"),
            ErrorCode::FaceNotDetected,
        ),
        (
            200,
            invalid("image larger than 2M"),
            ErrorCode::ImageTooLarge,
        ),
        (200, invalid("something new"), ErrorCode::UpstreamError),
        (400, error(400, "Image not found"), ErrorCode::ImageMissing),
        (
            400,
            error(400, "Invalid file type for: image"),
            ErrorCode::ImageType,
        ),
        (400, error(400, "Bad thing"), ErrorCode::UpstreamError),
        (
            401,
            error(401, "Missing/Invalid credentials"),
            ErrorCode::UpstreamUnauthorized,
        ),
        (
            401,
            error(401, "Token Expired"),
            ErrorCode::UpstreamUnauthorized,
        ),
        (
            423,
            error(423, "Multiple faces detected"),
            ErrorCode::MultipleFaces,
        ),
        (
            429,
            error(429, "Requests rate limit exceeded"),
            ErrorCode::UpstreamRateLimited,
        ),
        (
            500,
            error(500, "Internal Server Error"),
            ErrorCode::UpstreamError,
        ),
        (
            503,
            error(503, "DEPENDENCY SERVER BUSY"),
            ErrorCode::UpstreamBusy,
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
        (401, "".into(), ErrorCode::UpstreamUnauthorized),
        // A failure body delivered with HTTP 200.
        (200, error(400, "Image not found"), ErrorCode::ImageMissing),
        (200, error(500, "odd"), ErrorCode::UpstreamError),
    ];
    for (status, body, code) in cases {
        let err = parse_upstream_response(status, body.as_bytes()).unwrap_err();
        assert_eq!(err.code, code, "{status} {body}");
        assert_eq!(err.http_status, status);
    }
    let err = parse_upstream_response(400, error(400, "Image not found").as_bytes()).unwrap_err();
    assert_eq!(err.request_id.as_deref(), Some("req-1"));
    assert_eq!(err.upstream_message.as_deref(), Some("Image not found"));
}

#[test]
fn the_proxy_envelopes_round_trip_through_the_same_parser() {
    let result = MatchResult {
        is_match: true,
        score: 87.5,
        message: Some("ok".into()),
        request_id: None,
        transaction_id: None,
        s3_url: Some("https://s3.example/selfie.jpg".into()),
    };
    let hidden = success_envelope(&result, "req-9", "txn-9", true, false);
    assert!(!hidden.contains("s3"), "{hidden}");
    assert!(hidden.contains(r#""sandbox":true"#));
    let back = parse_upstream_response(200, hidden.as_bytes()).unwrap();
    assert_eq!((back.is_match, back.score), (true, 87.5));
    assert_eq!(back.request_id.as_deref(), Some("req-9"));
    assert_eq!(back.s3_url, None);
    let shown = success_envelope(&result, "req-9", "txn-9", false, true);
    assert!(shown.contains("selfie.jpg") && !shown.contains("sandbox"));

    for &code in ErrorCode::ALL {
        let body = error_envelope(code, "req-2", "txn-2");
        let err =
            parse_upstream_response(code.http_status().max(400), body.as_bytes()).unwrap_err();
        assert_eq!(err.code, code, "{body}");
        assert_eq!(err.transaction_id.as_deref(), Some("txn-2"));
    }
}

#[test]
fn request_bodies_are_read_strictly() {
    type Fields<'a> = (Option<&'a str>, Option<&'a str>);
    let cases: &[(&str, Result<Fields, ErrorCode>)] = &[
        (
            r#"{"id":"3273010101900001","image":"QUJD"}"#,
            Ok((Some("3273010101900001"), Some("QUJD"))),
        ),
        (r#"{"image":"QUJD"}"#, Ok((None, Some("QUJD")))),
        (r#"{"id":null,"image":null}"#, Ok((None, None))),
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

    let cases: &[(&str, &str, ErrorCode)] = &[
        ("", &jpeg, ErrorCode::NikEmpty),
        ("5473010101900001", &jpeg, ErrorCode::NikProvince),
        ("3273010101900001", "", ErrorCode::ImageMissing),
        ("3273010101900001", "QUJ", ErrorCode::ImageBase64),
        ("3273010101900001", "PHN2Zz4=", ErrorCode::ImageType),
    ];
    for (id, image, code) in cases {
        let err: RequestError = validate_request(id, image, today).unwrap_err();
        assert_eq!(err.code(), *code, "{id} {image}");
    }
}
