// What the task pages share: JSON calls to the API with the page's CSRF token, a status
// line, and the lease's countdown. Loaded before annotate.js and screen.js.
window.taskPage = (root, messageElement) => {
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  return {
    async call(method, path, body) {
      const response = await fetch(path, {
        method,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
      const data = await response.json().catch(() => ({}));
      return { ok: response.ok, status: response.status, data };
    },
    say(text, kind = "") {
      messageElement.textContent = text;
      messageElement.className = `message ${kind}`;
    },
    // Show the lease's time left in `element`; call `expired` once, when the deadline has
    // passed (not half a second early, when the server still holds the lease). Returns the
    // interval id, for clearInterval when the task ends sooner.
    countdown(element, seconds, expired) {
      const deadline = Date.now() + seconds * 1000;
      let timer = null;
      let fired = false;
      const tick = () => {
        const ms = deadline - Date.now();
        const left = Math.max(0, Math.ceil(ms / 1000));
        element.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
        element.classList.toggle("urgent", left < 30);
        if (ms <= 0 && !fired) {
          fired = true;
          clearInterval(timer);
          expired();
        }
      };
      tick();
      timer = setInterval(tick, 1000);
      return timer;
    },
  };
};
