// The screener's page: one clip at a time (full video with sound and its transcript),
// accepted with A or rejected with the key of a reason; "other" asks for a note.
(() => {
  const root = document.getElementById("screen");
  if (!root) return;
  const stage = document.getElementById("stage");
  const transcript = document.getElementById("transcript");
  const message = document.getElementById("message");
  const timerEl = document.getElementById("timer");
  const counterEl = document.getElementById("counter");
  const waitingEl = document.getElementById("waiting");
  const acceptButton = document.getElementById("accept");
  const rejectButtons = [...document.querySelectorAll("button.reject")];
  const otherForm = document.getElementById("other");
  const note = document.getElementById("note");
  const replayButton = document.getElementById("replay");
  let clip = null;
  let busy = false;
  let timer = null;

  const { call, say, countdown } = window.taskPage(root, message);

  function showProgress(progress) {
    if (!progress) return;
    counterEl.textContent = progress.decided;
    waitingEl.textContent = progress.waiting;
  }

  function enable(on) {
    for (const button of [acceptButton, replayButton, ...rejectButtons]) button.disabled = !on;
  }

  function render(next) {
    clip = next;
    stage.replaceChildren();
    clearInterval(timer);
    closeOther();
    enable(Boolean(clip));
    if (!clip) {
      transcript.hidden = true;
      timerEl.textContent = "–";
      const done = document.createElement("div");
      done.className = "done";
      done.innerHTML = "<h2>Nothing left to screen</h2><p>Thank you! Clips come back when another screener runs out of time, and new ones arrive with imports.</p>";
      stage.append(done);
      return;
    }
    const video = document.createElement("video");
    Object.assign(video, { src: clip.media_url, controls: true, autoplay: true, preload: "auto" });
    video.setAttribute("playsinline", "");
    stage.append(video);
    transcript.textContent = clip.transcript;
    transcript.hidden = false;
    timer = countdown(timerEl, clip.seconds_left, () => {
      say("Time ran out for this clip; it went back to the queue.", "warn");
      loadNext();
    });
  }

  async function loadNext() {
    const { ok, data } = await call("POST", root.dataset.nextUrl);
    if (!ok) return say(data.detail || "Could not load a clip; reload the page.", "error");
    showProgress(data.progress);
    render(data.clip);
  }

  async function decide(accept, reason = "", text = "") {
    if (!clip || busy) return;
    busy = true;
    const path = root.dataset.decideUrl.replace("/0/", `/${clip.screening}/`);
    const { ok, data } = await call("POST", path, { accept, reason, note: text });
    busy = false;
    if (!ok) say(data.detail || "Your decision was not saved.", "error");
    else say(accept ? "Accepted." : "Rejected.", "ok");
    loadNext();
  }

  function openOther() {
    otherForm.hidden = false;
    note.value = "";
    note.focus();
  }

  function closeOther() {
    otherForm.hidden = true;
  }

  function replay() {
    const player = stage.querySelector("video");
    if (player) { player.currentTime = 0; player.play(); }
  }

  acceptButton.addEventListener("click", () => decide(true));
  for (const button of rejectButtons) {
    button.addEventListener("click", () =>
      button.dataset.reason === "other" ? openOther() : decide(false, button.dataset.reason));
  }
  otherForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!note.value.trim()) return say("Write why the clip is unusable, then press Enter.", "warn");
    decide(false, "other", note.value.trim());
  });
  document.getElementById("cancel-other").addEventListener("click", closeOther);
  replayButton.addEventListener("click", replay);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") return closeOther();
    if (!clip || !otherForm.hidden || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toUpperCase();
    const reject = rejectButtons.find((button) => button.dataset.key.toUpperCase() === key);
    if (key === "A") { event.preventDefault(); decide(true); }
    else if (key === "R") { event.preventDefault(); replay(); }
    else if (reject) { event.preventDefault(); reject.click(); }
  });

  loadNext();
})();
