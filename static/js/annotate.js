// The annotator's task page: one task at a time, answered with one key (single-label) or,
// on a multi-label campaign, by toggling every label that applies and pressing Enter.
// It renders only what the server's task payload contains for the task's modality.
// On real tasks it fetches the next task ahead (prefetch) while this one is answered and
// starts loading its media, unplayed and unshown; an answer shows it at once, and the
// server is told in the background (submit, then next to promote it, then the following
// prefetch), one step after another. An unused task fetched ahead is released on leaving.
(() => {
  const root = document.getElementById("annotate");
  if (!root) return;
  const stage = document.getElementById("stage");
  const labelsBox = document.getElementById("labels");
  const message = document.getElementById("message");
  const timerEl = document.getElementById("timer");
  const counterEl = document.getElementById("counter");
  const modalityEl = document.getElementById("modality");
  // "task" (real jobs), "training" (the answer is explained) or "exam" (scored at the end).
  const mode = root.dataset.mode || "task";
  let task = null;
  let shownAt = 0;
  let busy = false;
  let timer = null;
  let lastAnswer = null; // {lease, label, labels, multi, allowNone}: real tasks only, while it may still be changed
  let picker = null; // the multi-label chooser of the current task
  let revisePicker = null; // the multi-label chooser of the revise panel
  const chooseHint = document.getElementById("choose-hint");
  const skipPanel = document.getElementById("skip-reasons");
  const skipOther = document.getElementById("skip-other");
  const revisePanel = document.getElementById("revise-panel");
  const reviseButton = document.getElementById("revise");

  const url = (template, id) => template.replace("/0/", `/${id}/`);

  const { call, say, countdown } = window.taskPage(root, message);
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  // ?prefetch=off turns it off (bench/annotate_page.py measures both).
  const prefetching = mode === "task" && new URLSearchParams(location.search).get("prefetch") !== "off";
  let ahead = null; // the next task's payload, fetched ahead; .player is its loading media element
  let chain = Promise.resolve(); // the server calls, one after another
  const offline = () => say("Could not reach the server; check your connection and reload the page.", "error");
  const queue = (step) => (chain = chain.then(step).catch(offline));

  function media(kind, src, extra = {}) {
    const element = document.createElement(kind);
    element.src = src;
    element.controls = true;
    element.autoplay = true;
    element.preload = "auto";
    element.setAttribute("playsinline", "");
    Object.assign(element, extra);
    return element;
  }

  // The task's player (none for a transcript). `autoplay` false for a task fetched ahead:
  // outside the page and paused, it only loads until it is shown.
  function player(t, autoplay) {
    if (t.modality === "t") return null;
    if (t.media_kind === "audio") return media("audio", t.media_url, { autoplay });
    if (t.modality === "v") return media("video", t.media_url, { muted: true, autoplay });
    const video = media("video", t.media_url, { autoplay });
    const track = document.createElement("track");
    Object.assign(track, { kind: "subtitles", src: t.subtitles_url, srclang: "zh", label: "transcript", default: true });
    video.append(track);
    return video;
  }

  function drop(t) {
    if (!t || !t.player) return;
    t.player.pause();
    t.player.removeAttribute("src");
    t.player.load(); // stops the download
    t.player = null;
  }

  function startTimer(t) {
    clearInterval(timer);
    timer = countdown(timerEl, t.seconds_left, () => {
      say("Time ran out for this task; it went back to the pool.", "warn");
      loadNext();
    });
  }

  const shown = (answer) => (Array.isArray(answer) ? answer.join(", ") || "none of these" : answer);
  const answerBody = (answer) => (Array.isArray(answer) ? { labels: answer } : { label: answer });

  // Multi-label: a toggle button per label (aria-pressed), "none of these" where allowed, and
  // a submit button enabled only for a valid answer: some labels, or none of these.
  function multiPicker(box, labels, allowNone, initial, submitText, onSubmit) {
    const chosen = new Set(initial || []);
    let none = Boolean(initial) && initial.length === 0 && allowNone;
    const noneKey = labels.some((l) => l.key === "0") ? "n" : "0";
    const buttons = new Map();
    const button = (key, text, className) => {
      const element = document.createElement("button");
      element.type = "button";
      element.className = className;
      element.innerHTML = "<kbd></kbd> <span></span>";
      element.querySelector("kbd").textContent = key;
      element.querySelector("span").textContent = text;
      box.append(element);
      return element;
    };
    for (const label of labels) {
      const element = button(label.key, label.name, "label toggle");
      element.dataset.label = label.name;
      element.addEventListener("click", () => toggle(label.name));
      buttons.set(label.name, element);
    }
    const noneButton = allowNone ? button(noneKey, "none of these", "label toggle none") : null;
    if (noneButton) noneButton.addEventListener("click", () => toggleNone());
    const send = button("Enter", submitText, "label send");
    send.dataset.send = "";
    send.addEventListener("click", () => { if (valid()) onSubmit(answer()); });
    const valid = () => chosen.size > 0 || none;
    const answer = () => labels.map((l) => l.name).filter((name) => chosen.has(name));
    function update() {
      for (const [name, element] of buttons) {
        element.setAttribute("aria-pressed", String(chosen.has(name)));
        element.classList.toggle("pressed", chosen.has(name));
      }
      if (noneButton) {
        noneButton.setAttribute("aria-pressed", String(none));
        noneButton.classList.toggle("pressed", none);
      }
      send.disabled = !valid();
    }
    function toggle(name) {
      if (chosen.has(name)) chosen.delete(name);
      else chosen.add(name);
      none = false;
      update();
    }
    function toggleNone() {
      none = !none;
      if (none) chosen.clear();
      update();
    }
    update();
    return {
      // Handles one key: a label's key toggles it, the none key toggles "none of these",
      // Enter submits a valid answer. Returns whether the key was the picker's.
      key(key) {
        if (key === "Enter") { send.click(); return true; }
        const label = labels.find((l) => l.key.toLowerCase() === key.toLowerCase());
        if (label) { toggle(label.name); return true; }
        if (noneButton && key.toLowerCase() === noneKey) { toggleNone(); return true; }
        return false;
      },
    };
  }

  // `pending`: a task fetched ahead, shown before the server has started its time (the
  // countdown starts when it answers).
  function render(next, pending = false) {
    if (task && task !== next) drop(task);
    task = next;
    picker = null;
    skipPanel.hidden = true;
    stage.replaceChildren();
    labelsBox.replaceChildren();
    clearInterval(timer);
    if (!task) {
      modalityEl.textContent = "";
      timerEl.textContent = "–";
      stage.append(finished());
      document.getElementById("replay").disabled = true;
      document.getElementById("skip").disabled = true;
      root.dataset.lease = "";
      return;
    }
    modalityEl.textContent = task.modality_name;
    if (task.modality === "t") {
      const quote = document.createElement("blockquote");
      quote.className = "transcript";
      quote.textContent = task.transcript;
      stage.append(quote);
    } else if (task.player) { // loaded ahead: shown and played now
      task.player.autoplay = true;
      stage.append(task.player);
      task.player.play().catch(() => {}); // a browser refusing autoplay leaves the controls
    } else {
      task.player = player(task, true);
      stage.append(task.player);
    }
    const multi = task.label_mode === "multi-label";
    chooseHint.hidden = !multi;
    if (multi) {
      picker = multiPicker(labelsBox, task.labels, task.allow_none, null, "Submit", submit);
    }
    for (const label of multi ? [] : task.labels) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "label";
      button.dataset.label = label.name;
      button.innerHTML = `<kbd></kbd> <span></span>`;
      button.querySelector("kbd").textContent = label.key;
      button.querySelector("span").textContent = label.name;
      button.addEventListener("click", () => submit(label.name));
      labelsBox.append(button);
    }
    document.getElementById("replay").disabled = task.modality === "t";
    document.getElementById("skip").disabled = mode !== "task";
    shownAt = performance.now();
    if (pending) timerEl.textContent = "…";
    else startTimer(task);
    root.dataset.lease = String(task.lease); // last: the task is on the page
  }

  let lastResponse = {};

  function finished() {
    const box = document.createElement("div");
    box.className = "done";
    const back = `<p><a class="button" href="${root.dataset.doneUrl}">Back to qualification</a></p>`;
    if (mode === "training") {
      box.innerHTML = `<h2>Training done</h2><p>You answered every training question of this modality.</p>${back}`;
    } else if (mode === "exam") {
      const attempt = lastResponse.attempt;
      const score = Math.round(attempt.score * 100);
      const mark = Math.round(attempt.pass_mark * 100);
      box.innerHTML = attempt.passed
        ? `<h2>Passed: ${score} %</h2><p>The pass mark is ${mark} %. Real tasks in this modality are open to you now.</p>${back}`
        : `<h2>Not passed: ${score} %</h2><p>The pass mark is ${mark} %. The qualification page says when you can try again.</p>${back}`;
      box.dataset.passed = String(attempt.passed);
    } else {
      // Nothing about other people's work beyond this: the campaign needs votes nobody may give.
      box.innerHTML = lastResponse.campaign_stuck
        ? "<h2>No tasks left for you</h2><p>Thank you! There is nothing left here that you may annotate. "
          + "The campaign cannot finish with its current annotators; its organisers have been told "
          + "(their dashboard shows it), so there is no need to wait for more tasks.</p>"
        : "<h2>No tasks left for you</h2><p>Thank you! There is nothing left here that you may annotate "
          + "right now. If other annotators skip tasks or run out of time, some may come back to you.</p>";
      box.dataset.stuck = String(Boolean(lastResponse.campaign_stuck));
    }
    return box;
  }

  // The current task from the server (a task fetched ahead is promoted to it), then the
  // next one ahead.
  const loadNext = () => queue(fetchNext);

  async function fetchNext() {
    const { ok, data } = await call("POST", root.dataset.nextUrl);
    if (!ok) {
      release(); // the campaign closed, or you were paused or removed: nothing more here
      return say(data.detail || "Could not load a task; reload the page.", "error");
    }
    lastResponse = data;
    if (mode === "training") counterEl.textContent = `${data.left} left`;
    if (mode === "exam") counterEl.textContent = `${data.attempt.answered} of ${data.attempt.questions}`;
    if (ahead && data.task && data.task.lease === ahead.lease) data.task.player = ahead.player;
    else drop(ahead); // the server closed it: decided by others or run out meanwhile
    ahead = null;
    render(data.task);
    await prefetch();
  }

  // After a swap: the server starts the time of the task shown (promotes it) and answers
  // with its expiry, or with another task when the one fetched ahead was decided or ran
  // out meanwhile.
  async function promote(shownTask) {
    const { ok, data } = await call("POST", root.dataset.nextUrl);
    if (task !== shownTask) return;
    if (!ok) {
      release();
      return say(data.detail || "Could not load a task; reload the page.", "error");
    }
    lastResponse = data;
    if (data.task && data.task.lease === shownTask.lease) {
      Object.assign(shownTask, data.task);
      startTimer(shownTask);
    } else {
      say("Meanwhile that task was decided by others or ran out of time; here is another.", "warn");
      render(data.task);
    }
    await prefetch();
  }

  // The next task, fetched ahead of the one shown; its media starts loading. Failures
  // leave it to the normal fetch after the answer.
  async function prefetch() {
    if (!prefetching || !task || ahead) return;
    const shownLease = task.lease;
    let response;
    try {
      response = await call("POST", `${root.dataset.nextUrl}?ahead_of=${shownLease}`);
    } catch {
      return;
    }
    const { ok, data } = response;
    if (!ok || !data.task || data.task.lease === shownLease) return; // none left for you
    ahead = data.task;
    ahead.deadline = Date.now() + ahead.seconds_left * 1000; // held this long unshown
    ahead.player = player(ahead, false);
    if (!task || task.lease !== shownLease) release(); // moved on meanwhile
  }

  // Gives back the task fetched ahead, unshown; on leaving the page with a beacon, which
  // carries the CSRF token as a form field (it cannot send headers).
  function release(leaving = false) {
    if (!ahead) return;
    const target = url(root.dataset.releaseUrl, ahead.lease);
    drop(ahead);
    ahead = null;
    if (leaving) {
      const form = new FormData();
      form.append("csrfmiddlewaretoken", csrf);
      navigator.sendBeacon(target, form);
    } else {
      call("POST", target).catch(() => {});
    }
  }
  window.addEventListener("pagehide", () => release(true));

  async function refreshCounter() {
    if (mode !== "task") return;
    const { ok, data } = await call("GET", root.dataset.progressUrl);
    if (ok) counterEl.textContent = data.submitted;
  }

  // A training answer is explained before the next question; Enter or the button goes on.
  function explain(feedback) {
    clearInterval(timer);
    task = null;
    labelsBox.replaceChildren();
    const box = document.createElement("div");
    box.id = "feedback";
    box.className = `feedback ${feedback.correct ? "ok" : "warn"}`;
    const verdict = document.createElement("h2");
    verdict.textContent = feedback.correct ? "Right." : `The expected answer is ${feedback.expected}.`;
    const why = document.createElement("p");
    why.textContent = feedback.explanation;
    const next = document.createElement("button");
    next.type = "button";
    next.id = "continue";
    next.textContent = "Continue (Enter)";
    next.addEventListener("click", () => { document.removeEventListener("keydown", onEnter); loadNext(); });
    const onEnter = (event) => { if (event.key === "Enter") { event.preventDefault(); next.click(); } };
    document.addEventListener("keydown", onEnter);
    box.append(verdict, why, next);
    stage.append(box);
  }

  async function submit(label) {
    if (!task || busy) return;
    const answered = task;
    const seconds = (performance.now() - shownAt) / 1000;
    const body = { ...answerBody(label), seconds_spent: seconds };
    if (!ahead && prefetching) { // the next one may be on its way
      busy = true;
      await chain;
      busy = false;
      if (task !== answered) return; // the server took this task back meanwhile
    }
    if (ahead && Date.now() > ahead.deadline - 2000) { // ran out unshown: the server closes it
      drop(ahead);
      ahead = null;
    }
    if (ahead) { // show it now; tell the server in the background
      const next = ahead;
      ahead = null;
      remember(answered, label); // C may change it at once; revise waits for the answer
      render(next, true);
      queue(async () => {
        await sendAnswer(answered, label, body);
        await promote(next);
      });
      return;
    }
    busy = true;
    const data = await sendAnswer(answered, label, body).catch(offline);
    busy = false;
    if (data && data.feedback && data.feedback.kind === "training") return explain(data.feedback);
    loadNext();
  }

  function remember(answered, label) {
    if (mode !== "task") return;
    lastAnswer = {
      lease: answered.lease, label, labels: answered.labels, multi: Array.isArray(label), allowNone: answered.allow_none,
    };
    reviseButton.hidden = false;
  }

  async function sendAnswer(answered, label, body) {
    const { ok, data } = await call("POST", url(root.dataset.submitUrl, answered.lease), body);
    if (!ok) say(data.detail || "Your answer was not accepted.", "error");
    else say(mode === "training" ? `Your answer: ${shown(label)}` : `Saved: ${shown(label)}`, "ok");
    if (ok) remember(answered, label);
    else if (lastAnswer && lastAnswer.lease === answered.lease) {
      lastAnswer = null; // remembered before the server had it, and refused
      reviseButton.hidden = true;
      revisePanel.hidden = true;
    }
    if (!(ok && data.feedback && data.feedback.kind === "training")) refreshCounter();
    return ok ? data : null;
  }

  // Skipping asks why first: a preset reason (1–4) or one typed in; Esc goes back.
  function skip() {
    if (!task || busy || mode !== "task") return;
    revisePanel.hidden = true;
    skipPanel.hidden = false;
    skipOther.value = "";
  }

  async function sendSkip(reason) {
    if (!task || busy) return;
    skipPanel.hidden = true;
    busy = true;
    const skipped = task;
    await chain;
    if (task !== skipped) { busy = false; return; }
    const result = await call("POST", url(root.dataset.skipUrl, task.lease), { reason }).catch(offline);
    busy = false;
    if (!result) return;
    if (!result.ok) say(result.data.detail || "Could not skip.", "error");
    else say(`Skipped: ${reason}`, "");
    loadNext(); // promotes the task fetched ahead, if any
  }

  // The last answer may be changed while its task is open; the server refuses once decided.
  function openRevise() {
    if (!lastAnswer || busy) return;
    skipPanel.hidden = true;
    document.getElementById("revise-current").textContent = shown(lastAnswer.label);
    const box = document.getElementById("revise-labels");
    box.replaceChildren();
    revisePicker = lastAnswer.multi
      ? multiPicker(box, lastAnswer.labels, lastAnswer.allowNone, lastAnswer.label, "Change", revise)
      : null;
    for (const label of lastAnswer.multi ? [] : lastAnswer.labels) {
      if (label.name === lastAnswer.label) continue;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "label secondary";
      button.dataset.label = label.name;
      button.innerHTML = "<kbd></kbd> <span></span>";
      button.querySelector("kbd").textContent = label.key;
      button.querySelector("span").textContent = label.name;
      button.addEventListener("click", () => revise(label.name));
      box.append(button);
    }
    revisePanel.hidden = false;
  }

  async function revise(label) {
    revisePanel.hidden = true;
    busy = true;
    await chain; // the answer being changed has reached the server
    if (!lastAnswer) { busy = false; return; } // it did not: sendAnswer said why
    const { ok, data } = await call("POST", url(root.dataset.reviseUrl, lastAnswer.lease), answerBody(label));
    busy = false;
    if (!ok) {
      say(data.detail || "Your last answer could not be changed.", "error");
      lastAnswer = null;
      reviseButton.hidden = true;
      return;
    }
    lastAnswer.label = label;
    say(`Changed your last answer to ${shown(label)}.`, "ok");
  }

  function replay() {
    const player = stage.querySelector("audio, video");
    if (player) { player.currentTime = 0; player.play(); }
  }

  document.getElementById("skip").addEventListener("click", skip);
  document.getElementById("replay").addEventListener("click", replay);
  reviseButton.addEventListener("click", openRevise);
  document.getElementById("revise-cancel").addEventListener("click", () => { revisePanel.hidden = true; });
  document.getElementById("skip-cancel").addEventListener("click", () => { skipPanel.hidden = true; });
  document.getElementById("skip-send").addEventListener("click", () => {
    const reason = skipOther.value.trim();
    if (reason) sendSkip(reason);
    else say("Choose a reason or write one to skip.", "warn");
  });
  for (const button of skipPanel.querySelectorAll("[data-reason]")) {
    button.addEventListener("click", () => sendSkip(button.dataset.reason));
  }
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (!skipPanel.hidden) { // the open panel takes the keys, not the labels
      if (event.key === "Escape") { event.preventDefault(); skipPanel.hidden = true; }
      else if (event.target === skipOther) { if (event.key === "Enter") { event.preventDefault(); document.getElementById("skip-send").click(); } }
      else {
        const preset = skipPanel.querySelectorAll("[data-reason]")[Number(event.key) - 1];
        if (preset) { event.preventDefault(); sendSkip(preset.dataset.reason); }
      }
      return;
    }
    if (!revisePanel.hidden) {
      if (event.key === "Escape") { event.preventDefault(); revisePanel.hidden = true; return; }
      if (revisePicker) { if (revisePicker.key(event.key)) event.preventDefault(); return; }
      const choice = [...revisePanel.querySelectorAll("[data-label]")].find(
        (b) => b.querySelector("kbd").textContent.toLowerCase() === event.key.toLowerCase(),
      );
      if (choice) { event.preventDefault(); revise(choice.dataset.label); }
      return;
    }
    const isLabelKey = task && task.labels.some((l) => l.key.toLowerCase() === event.key.toLowerCase());
    if (event.key.toLowerCase() === "c" && lastAnswer && !isLabelKey) { event.preventDefault(); openRevise(); return; }
    if (!task) return;
    if (picker && picker.key(event.key)) { event.preventDefault(); return; }
    const key = event.key.toLowerCase();
    const label = picker ? null : task.labels.find((l) => l.key.toLowerCase() === key);
    if (label) { event.preventDefault(); submit(label.name); }
    else if (key === "s") { event.preventDefault(); skip(); }
    else if (key === "r") { event.preventDefault(); replay(); }
  });

  refreshCounter();
  loadNext();
})();
