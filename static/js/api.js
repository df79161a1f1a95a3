// What the task pages share: JSON calls to the API with the page's CSRF token, and a
// status line. Loaded before annotate.js and screen.js.
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
  };
};
