// The demo onboarding form. Plain ES module on top of the npm package `dukcapil-facematch`.
// Nothing here logs or keeps the NIK or the photo.
//
// The flow is the real one when config.json names a backend (examples/backend-node, as
// `cargo xtask demo` runs it): the backend mints a token for this NIK and transaction, the
// proxy answers with a signed receipt, and the backend verifies the receipt and records the
// outcome; the page shows what the backend recorded, never its own reading. The deployed demo
// Worker has no backend: there the page calls the proxy's anonymous sandbox and says so.
import { init, parseNik, prepareSelfie, FaceMatchClient, FaceMatchError } from "dukcapil-facematch";

const TEXT = {
  id: {
    brand: "Verifikasi identitas",
    title: "Verifikasi NIK dan wajah",
    lead: "Kami mencocokkan foto wajah Anda dengan data kependudukan (Dukcapil).",
    nikLabel: "NIK (16 digit, sesuai KTP)",
    photoTitle: "Foto wajah (selfie)",
    cameraOff: "Kamera belum aktif.",
    startCamera: "Nyalakan kamera",
    capture: "Ambil foto",
    retake: "Ulangi foto",
    fileLabel: "Atau pilih/ambil foto dari perangkat",
    consent: "Saya setuju NIK dan foto wajah saya diproses untuk verifikasi identitas dengan Dukcapil melalui HyperVerge, sesuai UU Pelindungan Data Pribadi (UU 27/2022). Data tidak disimpan oleh situs ini.",
    submit: "Verifikasi",
    retry: "Coba lagi",
    nikOk: (n) => `${region(n, "Provinsi")} · lahir ${formatDate(n.birthDate, "id")} · ${n.sex === "female" ? "perempuan" : "laki-laki"}`,
    cameraDenied: "Izin kamera ditolak. Anda dapat memilih foto dari perangkat.",
    cameraMissing: "Kamera tidak ditemukan. Anda dapat memilih foto dari perangkat.",
    cameraFailed: "Kamera tidak dapat dibuka. Anda dapat memilih foto dari perangkat.",
    cameraReady: "Kamera aktif. Posisikan wajah Anda lalu tekan Ambil foto.",
    photoReady: (w, h, kb) => `Foto siap (${w}×${h}, ${kb} KB).`,
    preparing: "Menyiapkan foto…",
    sending: "Memverifikasi dengan Dukcapil…",
    match: (s) => `Cocok. Wajah Anda sesuai dengan data Dukcapil (skor ${s}).`,
    noMatch: (s) => `Tidak cocok. Wajah tidak sesuai dengan data Dukcapil untuk NIK ini (skor ${s}).`,
    recorded: "Tanda terima dari proxy telah diperiksa dan hasilnya dicatat oleh server.",
    recordedSandbox: "Mode uji (sandbox): hasil simulasi. Tanda terima telah diperiksa dan dicatat oleh server.",
    unrecorded: "Mode uji (sandbox): hasil simulasi, tanpa server yang memeriksa tanda terima.",
    sessionFailed: "Sesi verifikasi tidak dapat dimulai. Coba lagi.",
    backendRefused: "Server menolak tanda terima verifikasi; hasil tidak dicatat.",
  },
  en: {
    brand: "Identity verification",
    title: "Verify your NIK and face",
    lead: "We match your face photo against the population registry (Dukcapil).",
    nikLabel: "NIK (16 digits, as on your KTP)",
    photoTitle: "Face photo (selfie)",
    cameraOff: "The camera is off.",
    startCamera: "Turn on camera",
    capture: "Take photo",
    retake: "Retake photo",
    fileLabel: "Or choose/take a photo on your device",
    consent: "I agree that my NIK and face photo are processed to verify my identity with Dukcapil through HyperVerge, under Indonesia's Personal Data Protection Law (UU 27/2022). This site does not keep them.",
    submit: "Verify",
    retry: "Try again",
    nikOk: (n) => `${region(n, "Province")} · born ${formatDate(n.birthDate, "en")} · ${n.sex}`,
    cameraDenied: "Camera permission was denied. You can choose a photo on your device instead.",
    cameraMissing: "No camera was found. You can choose a photo on your device instead.",
    cameraFailed: "The camera could not be opened. You can choose a photo on your device instead.",
    cameraReady: "Camera on. Position your face, then press Take photo.",
    photoReady: (w, h, kb) => `Photo ready (${w}×${h}, ${kb} KB).`,
    preparing: "Preparing the photo…",
    sending: "Verifying with Dukcapil…",
    match: (s) => `Match. Your face matches the Dukcapil record (score ${s}).`,
    noMatch: (s) => `No match. The face does not match the Dukcapil record for this NIK (score ${s}).`,
    recorded: "The proxy's receipt was checked and the outcome recorded by the server.",
    recordedSandbox: "Sandbox: a simulated answer. Its receipt was checked and recorded by the server.",
    unrecorded: "Sandbox: a simulated answer, with no server to check its receipt.",
    sessionFailed: "The verification session could not be started. Try again.",
    backendRefused: "The server refused the verification receipt; nothing was recorded.",
  },
};

/** "Kota Bandung, Jawa Barat"; a code stands in for a name our tables don't have. */
function region(n, provinceWord) {
  const province = n.province.name ?? `${provinceWord} ${n.province.code}`;
  return n.regency.name ? `${n.regency.name}, ${province}` : province;
}

function formatDate(iso, lang) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString(lang === "id" ? "id-ID" : "en-GB", {
    day: "numeric", month: "long", year: "numeric", timeZone: "UTC",
  });
}

const $ = (id) => document.getElementById(id);
const state = { lang: "id", nik: null, nikError: null, selfie: null, stream: null, busy: false, lastError: null, lastResult: null };
const t = (key, ...args) => {
  const v = TEXT[state.lang][key];
  return typeof v === "function" ? v(...args) : v;
};
/** A typed error's message in the chosen language. */
const errorText = (err) => (state.lang === "id" && err && err.messageId) || (err && err.message) || String(err);

function setStatus(el, text, kind) {
  el.textContent = text;
  el.classList.toggle("error", kind === "error");
  el.classList.toggle("good", kind === "good");
}

function render() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  $("lang-id").setAttribute("aria-pressed", String(state.lang === "id"));
  $("lang-en").setAttribute("aria-pressed", String(state.lang === "en"));
  renderNik();
  if (state.selfie) setStatus($("camera-status"), t("photoReady", state.selfie.width, state.selfie.height, Math.round(state.selfie.bytes / 1024)), "good");
  else if (state.cameraMessage) setStatus($("camera-status"), t(state.cameraMessage), state.cameraMessage === "cameraReady" ? "" : "error");
  if (state.lastResult) showResult(state.lastResult);
  if (state.lastError) showError(state.lastError);
  updateSubmit();
}

function renderNik() {
  const input = $("nik");
  const status = $("nik-status");
  if (!input.value.trim()) {
    input.removeAttribute("aria-invalid");
    setStatus(status, "", "");
  } else if (state.nik) {
    input.setAttribute("aria-invalid", "false");
    setStatus(status, t("nikOk", state.nik), "good");
  } else {
    input.setAttribute("aria-invalid", "true");
    setStatus(status, errorText(state.nikError), "error");
  }
}

function onNikInput() {
  try {
    state.nik = parseNik($("nik").value);
    state.nikError = null;
  } catch (err) {
    state.nik = null;
    state.nikError = err;
  }
  renderNik();
  updateSubmit();
}

function updateSubmit() {
  $("submit").disabled = state.busy || !state.nik || !state.selfie || !$("consent").checked;
}

function stopCamera() {
  if (state.stream) for (const track of state.stream.getTracks()) track.stop();
  state.stream = null;
  $("video").hidden = true;
  $("video").srcObject = null;
  $("capture").hidden = true;
}

function offerFile(messageKey) {
  state.cameraMessage = messageKey;
  setStatus($("camera-status"), t(messageKey), "error");
  $("file-fallback").hidden = false;
  $("start-camera").hidden = false;
}

async function startCamera() {
  clearResult();
  state.selfie = null;
  $("still").hidden = true;
  $("retake").hidden = true;
  if (!navigator.mediaDevices?.getUserMedia) return offerFile("cameraMissing");
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false,
    });
  } catch (err) {
    const key = err?.name === "NotAllowedError" || err?.name === "SecurityError" ? "cameraDenied"
      : err?.name === "NotFoundError" || err?.name === "OverconstrainedError" ? "cameraMissing" : "cameraFailed";
    return offerFile(key);
  }
  const video = $("video");
  video.srcObject = state.stream;
  video.hidden = false;
  $("camera-placeholder").hidden = true;
  await video.play().catch(() => {});
  $("start-camera").hidden = true;
  $("capture").hidden = false;
  $("capture").focus();
  state.cameraMessage = "cameraReady";
  setStatus($("camera-status"), t("cameraReady"), "");
  updateSubmit();
}

async function usePhoto(source) {
  setStatus($("camera-status"), t("preparing"), "");
  try {
    state.selfie = await prepareSelfie(source);
  } catch (err) {
    state.selfie = null;
    setStatus($("camera-status"), errorText(err), "error");
    updateSubmit();
    return;
  }
  const still = $("still");
  still.src = `data:${state.selfie.mimeType};base64,${state.selfie.base64}`;
  still.alt = state.lang === "id" ? "Foto wajah yang diambil" : "The photo taken";
  still.hidden = false;
  $("camera-placeholder").hidden = true;
  $("retake").hidden = false;
  setStatus($("camera-status"), t("photoReady", state.selfie.width, state.selfie.height, Math.round(state.selfie.bytes / 1024)), "good");
  updateSubmit();
}

async function capture() {
  const video = $("video");
  const frameTaken = usePhoto(video);
  await frameTaken;
  stopCamera();
}

function clearResult() {
  state.lastError = null;
  state.lastResult = null;
  $("result").hidden = true;
  $("retry").hidden = true;
  $("result-note").hidden = true;
}

/** Whether the server recorded the outcome, and whether it was simulated. */
function showNote(r) {
  const note = $("result-note");
  const key = r.recorded ? (r.sandbox ? "recordedSandbox" : "recorded") : r.sandbox ? "unrecorded" : null;
  note.hidden = !key;
  if (key) note.textContent = t(key);
}

function showResult(r) {
  const box = $("result");
  box.hidden = false;
  box.className = `result ${r.match ? "match" : "nomatch"}`;
  const score = Number.isFinite(r.score) ? r.score.toLocaleString(state.lang === "id" ? "id-ID" : "en-US") : "—";
  $("result-text").textContent = r.match ? t("match", score) : t("noMatch", score);
  $("retry").hidden = true;
  showNote(r);
}

function showError(err) {
  const box = $("result");
  box.hidden = false;
  box.className = "result error";
  $("result-text").textContent = err?.pageKey ? t(err.pageKey) : errorText(err);
  $("retry").hidden = !err?.retryable;
  showNote(err?.outcome ?? {});
}

/** A failure between the page and its own server. */
class BackendError extends Error {
  constructor(pageKey, retryable) {
    super(pageKey);
    this.pageKey = pageKey;
    this.retryable = retryable;
  }
}

let configLoaded;
const getConfig = () =>
  (configLoaded ??= fetch("./config.json").then((r) => (r.ok ? r.json() : {})).catch(() => ({})));

async function postJson(url, body) {
  const res = await fetch(url, {
    method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  return { ok: res.ok, body: await res.json().catch(() => ({})) };
}

/**
 * A token and transaction from the server for this NIK, kept for retries of the same
 * transaction until it is completed or about to expire. Null without a server (the deployed
 * demo's anonymous sandbox).
 */
async function getSession(config, nik) {
  if (!config.sessionUrl) return null;
  const s = state.session;
  if (s && s.nik === nik && !s.done && s.expiresAt > Date.now() + 30_000) return s;
  const { ok, body } = await postJson(config.sessionUrl, { nik });
  if (!ok || typeof body.token !== "string") throw new BackendError("sessionFailed", true);
  state.session = { nik, token: body.token, transactionId: body.transactionId, expiresAt: Date.now() + body.expiresIn * 1000 };
  return state.session;
}

/** Hands the receipt to the server, which verifies it and records the outcome. */
async function complete(config, session, receipt) {
  session.done = true;
  const { ok, body } = await postJson(config.completeUrl, { transactionId: session.transactionId, receipt });
  if (!ok) throw new BackendError("backendRefused", false);
  return { ...body, recorded: true };
}

async function submit(event) {
  event?.preventDefault();
  if (state.busy || !state.nik || !state.selfie || !$("consent").checked) return;
  state.busy = true;
  updateSubmit();
  clearResult();
  $("form").setAttribute("aria-busy", "true");
  setStatus($("progress"), t("sending"), "");
  try {
    const config = await getConfig();
    const session = await getSession(config, state.nik.normalized);
    const client = new FaceMatchClient({
      endpoint: config.endpoint || location.origin,
      token: session?.token,
      allowSandbox: config.allowSandbox === true,
      timeoutMs: config.timeoutMs ?? 30000,
    });
    let answer;
    try {
      answer = await client.verify({ nik: state.nik.normalized, selfie: state.selfie, transactionId: session?.transactionId });
    } catch (err) {
      // A definitive refusal is vouched for too: the server records it from its receipt.
      if (session && err instanceof FaceMatchError && err.receipt) err.outcome = await complete(config, session, err.receipt);
      throw err;
    }
    // With a server, what it recorded from the receipt is the outcome; without, the answer.
    state.lastResult = session ? await complete(config, session, answer.receipt) : answer;
    showResult(state.lastResult);
  } catch (err) {
    state.lastError = err;
    showError(err);
  } finally {
    state.busy = false;
    $("form").removeAttribute("aria-busy");
    setStatus($("progress"), "", "");
    updateSubmit();
    $("result").focus();
  }
}

function setLang(lang) {
  state.lang = lang;
  render();
}

async function main() {
  await init();
  $("nik").addEventListener("input", onNikInput);
  $("consent").addEventListener("change", updateSubmit);
  $("start-camera").addEventListener("click", startCamera);
  $("capture").addEventListener("click", capture);
  $("retake").addEventListener("click", startCamera);
  $("file").addEventListener("change", (e) => {
    const file = e.target.files?.[0];
    if (file) usePhoto(file);
  });
  $("form").addEventListener("submit", submit);
  $("retry").addEventListener("click", () => submit());
  $("lang-id").addEventListener("click", () => setLang("id"));
  $("lang-en").addEventListener("click", () => setLang("en"));
  window.addEventListener("pagehide", stopCamera);
  document.body.dataset.ready = "true";
  render();
}

main();
