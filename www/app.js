// The demo onboarding form. Plain ES module on top of the npm package `dukcapil-facematch`.
// Nothing here logs or keeps the NIK or the photo.
//
// The flow is the real one when config.json names a backend (examples/backend-node, as
// `cargo xtask demo` runs it): the backend mints a token for this NIK and transaction, the
// proxy answers with a signed receipt, and the backend verifies the receipt and records the
// outcome; the page shows what the backend recorded, never its own reading. The deployed demo
// Worker has no backend: there the page calls the proxy's anonymous sandbox and says so.
import { init, hasWasmSimd, parseNik, prepareSelfie, FaceMatchClient, FaceMatchError } from "dukcapil-facematch";

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
    fileLabel: "Pilih foto dari perangkat",
    consent: "Saya setuju NIK dan foto wajah saya diproses untuk verifikasi identitas dengan Dukcapil melalui HyperVerge, sesuai UU Pelindungan Data Pribadi (UU 27/2022). Data tidak disimpan oleh situs ini.",
    submit: "Verifikasi",
    retry: "Coba lagi",
    nikOk: (n) => `${region(n, "Provinsi")} · lahir ${formatDate(n.birthDate, "id")} · ${n.sex === "female" ? "perempuan" : "laki-laki"}`,
    cameraDenied: "Izin kamera ditolak. Anda dapat memilih foto dari perangkat.",
    cameraMissing: "Kamera tidak ditemukan. Anda dapat memilih foto dari perangkat.",
    cameraFailed: "Kamera tidak dapat dibuka. Anda dapat memilih foto dari perangkat.",
    cameraReady: "Kamera aktif. Posisikan wajah Anda lalu tekan Ambil foto.",
    guidanceChecking: "Memeriksa cahaya dan ketajaman…",
    guidanceGood: "Cahaya dan ketajaman baik. Tekan Ambil foto.",
    noSimd: "Browser ini tidak dapat menjalankan verifikasi: dibutuhkan WebAssembly SIMD (Chrome 91, Firefox 89, Safari 16.4 atau yang lebih baru). Buka halaman ini di browser yang terbaru.",
    initFailed: "Modul verifikasi gagal dimuat. Periksa koneksi Anda lalu muat ulang halaman.",
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
    fileLabel: "Choose a photo from your device",
    consent: "I agree that my NIK and face photo are processed to verify my identity with Dukcapil through HyperVerge, under Indonesia's Personal Data Protection Law (UU 27/2022). This site does not keep them.",
    submit: "Verify",
    retry: "Try again",
    nikOk: (n) => `${region(n, "Province")} · born ${formatDate(n.birthDate, "en")} · ${n.sex}`,
    cameraDenied: "Camera permission was denied. You can choose a photo on your device instead.",
    cameraMissing: "No camera was found. You can choose a photo on your device instead.",
    cameraFailed: "The camera could not be opened. You can choose a photo on your device instead.",
    cameraReady: "Camera on. Position your face, then press Take photo.",
    guidanceChecking: "Checking light and focus…",
    guidanceGood: "Good light and focus. Press Take photo.",
    noSimd: "This browser cannot run the verification: it needs WebAssembly SIMD (Chrome 91, Firefox 89, Safari 16.4 or newer). Open this page in an up-to-date browser.",
    initFailed: "The verification module could not be loaded. Check your connection, then reload the page.",
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
const state = {
  lang: "id", nik: null, nikError: null, selfie: null, stream: null, busy: false,
  lastError: null, lastResult: null, guidance: null, unsupported: null, config: {},
};
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
  if (state.unsupported) $("unsupported").textContent = t(state.unsupported);
  renderNik();
  renderGuidance();
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

/** The quality gate's options for every photo: the defaults, or `checks` from config.json. */
const gateOptions = () => (state.config.checks === undefined ? undefined : { checks: state.config.checks });

// Live guidance: while the camera runs, the current frame goes through the same checks as
// the photo will, so the person can fix the light or hold still before pressing the button.
const GUIDANCE_EVERY_MS = 700;
let guidanceTimer = null;
let guiding = false;

function startGuidance() {
  stopGuidance();
  state.guidance = { checking: true };
  renderGuidance();
  guidanceTimer = setInterval(guideOnce, GUIDANCE_EVERY_MS);
}

function stopGuidance() {
  clearInterval(guidanceTimer);
  guidanceTimer = null;
  state.guidance = null;
  renderGuidance();
}

async function guideOnce() {
  const video = $("video");
  if (guiding || document.hidden || !state.stream || video.readyState < 2) return;
  guiding = true;
  try {
    await prepareSelfie(video, gateOptions());
    state.guidance = { ok: true };
  } catch (err) {
    // Only the gate's verdicts are guidance; anything else waits for the next frame.
    state.guidance = err?.metrics ? { error: err } : { checking: true };
  } finally {
    guiding = false;
  }
  if (state.stream) renderGuidance();
}

function renderGuidance() {
  const el = $("guidance");
  const g = state.guidance;
  el.hidden = !g;
  if (!g) return;
  if (g.ok) setStatus(el, t("guidanceGood"), "good");
  else if (g.error) setStatus(el, errorText(g.error), "error");
  else setStatus(el, t("guidanceChecking"), "");
}

function stopCamera() {
  stopGuidance();
  if (state.stream) for (const track of state.stream.getTracks()) track.stop();
  state.stream = null;
  $("video").hidden = true;
  $("video").srcObject = null;
  $("capture").hidden = true;
}

function offerFile(messageKey) {
  state.cameraMessage = messageKey;
  setStatus($("camera-status"), t(messageKey), "error");
  $("start-camera").hidden = false;
  $("file").focus();
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
  startGuidance();
  updateSubmit();
}

/** Prepares a photo; false when it was refused (the message is shown). */
async function usePhoto(source) {
  setStatus($("camera-status"), t("preparing"), "");
  try {
    state.selfie = await prepareSelfie(source, gateOptions());
  } catch (err) {
    state.selfie = null;
    setStatus($("camera-status"), errorText(err), "error");
    updateSubmit();
    return false;
  }
  const still = $("still");
  still.src = `data:${state.selfie.mimeType};base64,${state.selfie.base64}`;
  still.alt = state.lang === "id" ? "Foto wajah yang diambil" : "The photo taken";
  still.hidden = false;
  $("camera-placeholder").hidden = true;
  $("retake").hidden = false;
  setStatus($("camera-status"), t("photoReady", state.selfie.width, state.selfie.height, Math.round(state.selfie.bytes / 1024)), "good");
  updateSubmit();
  return true;
}

async function capture() {
  // A refused photo leaves the camera on, with its guidance, for another try.
  if (await usePhoto($("video"))) {
    stopCamera();
    $("start-camera").hidden = true;
  }
}

async function useFile(file) {
  clearResult();
  if (await usePhoto(file)) {
    stopCamera();
    $("retake").hidden = true;
    $("start-camera").hidden = false;
  }
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

const getConfig = async () => (state.config ??= await loadConfig());

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

/** config.json: the proxy endpoint, the token URL, and optionally the gate's `checks`. */
async function loadConfig() {
  return fetch("./config.json").then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
}

/** Says plainly why the form cannot work here, and disables it. */
function unsupported(key) {
  state.unsupported = key;
  $("unsupported").hidden = false;
  for (const el of document.querySelectorAll("#form input, #form button")) el.disabled = true;
  document.body.dataset.ready = "unsupported";
  render();
}

async function main() {
  $("lang-id").addEventListener("click", () => setLang("id"));
  $("lang-en").addEventListener("click", () => setLang("en"));
  if (typeof WebAssembly !== "object" || !hasWasmSimd()) return unsupported("noSimd");
  try {
    [, state.config] = await Promise.all([init(), loadConfig()]);
  } catch {
    return unsupported("initFailed");
  }
  $("nik").addEventListener("input", onNikInput);
  $("consent").addEventListener("change", updateSubmit);
  $("start-camera").addEventListener("click", startCamera);
  $("capture").addEventListener("click", capture);
  $("retake").addEventListener("click", startCamera);
  $("file").addEventListener("change", (e) => {
    const file = e.target.files?.[0];
    e.target.value = "";
    if (file) useFile(file);
  });
  $("form").addEventListener("submit", submit);
  $("retry").addEventListener("click", () => submit());
  window.addEventListener("pagehide", stopCamera);
  document.body.dataset.ready = "true";
  render();
}

main();
