//! The transaction ledger's Durable Object: one per transaction, SQLite-backed. It stores one
//! [`Record`] and lets `crate::logic::ledger` decide everything; this only loads and stores it
//! (through `io.js`, one call each) and sets the alarm that deletes it after
//! `LEDGER_TTL_SECONDS`.
//!
//! A request is decided and written with no await in between (SQLite calls are synchronous
//! in a Durable Object), so concurrent requests of one transaction are strictly one after the
//! other: the first claim wins, the others see it.

use super::respond;
use crate::logic::ledger::{self, Alarm, Change, Record, Request};
use worker::{
    durable_object, js_sys,
    wasm_bindgen::{self, prelude::wasm_bindgen, JsValue},
    wasm_bindgen_futures::JsFuture,
    worker_sys::DurableObjectState,
    DurableObject, Env, Request as Call, Response, Result, State,
};

#[wasm_bindgen(module = "/src/io.js")]
extern "C" {
    #[wasm_bindgen(js_name = bodyText)]
    fn body_text(request: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(js_name = ledgerLoad, catch)]
    fn ledger_load(state: &DurableObjectState) -> core::result::Result<Option<String>, JsValue>;
    #[wasm_bindgen(js_name = ledgerSave, catch)]
    fn ledger_save(state: &DurableObjectState, record: &str) -> core::result::Result<(), JsValue>;
    #[wasm_bindgen(js_name = ledgerAlarm)]
    fn ledger_alarm(state: &DurableObjectState, at_ms: f64) -> js_sys::Promise;
    #[wasm_bindgen(js_name = ledgerDelete)]
    fn ledger_delete(state: &DurableObjectState) -> js_sys::Promise;
}

// Only `fetch` and `alarm` are bound: the WebSocket and socket handlers would add code for nothing.
#[durable_object(alarm)]
pub struct TransactionLedger {
    state: State,
}

impl TransactionLedger {
    fn raw(&self) -> &DurableObjectState {
        self.state.as_raw()
    }

    /// The stored record; one that cannot be read counts as none (only this code writes it).
    fn load(&self) -> Result<Option<Record>> {
        let json = ledger_load(self.raw())?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }

    async fn apply(&self, stored: Option<&Record>, change: Change) -> Result<()> {
        match change {
            Change::Keep => {}
            Change::Write(record) => {
                let json = serde_json::to_string(&record)
                    .map_err(|e| worker::Error::from(e.to_string()))?;
                ledger_save(self.raw(), &json)?;
                if stored.map(|s| s.expires_ms) != Some(record.expires_ms) {
                    JsFuture::from(ledger_alarm(self.raw(), record.expires_ms)).await?;
                }
            }
            Change::Delete => {
                JsFuture::from(ledger_delete(self.raw())).await?;
            }
        }
        Ok(())
    }
}

impl DurableObject for TransactionLedger {
    fn new(state: State, _env: Env) -> Self {
        TransactionLedger { state }
    }

    async fn fetch(&self, call: Call) -> Result<Response> {
        let text = JsFuture::from(body_text(call.inner())).await?;
        let request = text
            .as_string()
            .and_then(|t| serde_json::from_str::<Request>(&t).ok());
        let Some(request) = request else {
            return Ok(respond(400, "[]", "").into());
        };
        let stored = self.load()?;
        let (change, verdict) = ledger::decide(stored.as_ref(), &request, js_sys::Date::now());
        self.apply(stored.as_ref(), change).await?;
        let answer =
            serde_json::to_string(&verdict).map_err(|e| worker::Error::from(e.to_string()))?;
        Ok(respond(200, "[]", &answer).into())
    }

    async fn alarm(&self) -> Result<Response> {
        let stored = self.load()?;
        let change = match ledger::on_alarm(stored.as_ref(), js_sys::Date::now()) {
            Alarm::Delete => Change::Delete,
            Alarm::Again(at_ms) => {
                JsFuture::from(ledger_alarm(self.raw(), at_ms)).await?;
                Change::Keep
            }
        };
        self.apply(stored.as_ref(), change).await?;
        Ok(respond(200, "[]", "").into())
    }
}
