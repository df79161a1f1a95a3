// A training run's page while it runs: poll its status, move the progress bar, redraw the
// curves when an epoch finishes, and reload once the run has finished (to show its tables).
(() => {
  const root = document.getElementById("run");
  if (!root || root.dataset.finished === "true") return;
  let epochs = Number(root.dataset.epochs);
  const every = 3000;

  async function poll() {
    try {
      const response = await fetch(root.dataset.statusUrl, { credentials: "same-origin" });
      if (response.ok) {
        const run = await response.json();
        if (run.finished) {
          window.location.reload();
          return;
        }
        document.getElementById("run-status").textContent = run.status;
        document.getElementById("run-progress").value = run.percent;
        const seed = run.current_seed === null ? "" : `, seed ${run.current_seed}`;
        document.getElementById("run-steps").textContent =
          `${run.step} / ${run.total_steps} steps${seed}`;
        if (run.epochs !== epochs) {
          epochs = run.epochs;
          for (const img of document.querySelectorAll("img[data-curve]")) {
            img.src = `${img.dataset.src}?epochs=${epochs}`;
          }
        }
      }
    } catch (error) {
      // The server may restart; keep polling.
    }
    setTimeout(poll, every);
  }
  setTimeout(poll, every);
})();
