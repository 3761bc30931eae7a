// listingsync dashboard: the little behaviour htmx does not give (no inline script: the CSP forbids it).
// 1. Every htmx request carries the page's CSRF token (a header; forms also carry it as a field).
// 2. Elements with data-progress-url follow a run's progress over server-sent events.
"use strict";

document.addEventListener("htmx:configRequest", function (event) {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRF-Token"] = meta.content;
  }
});

function followProgress(el) {
  if (!window.EventSource || el.dataset.following) return;
  el.dataset.following = "1";
  const source = new EventSource(el.dataset.progressUrl);
  const bar = el.querySelector("progress");
  const text = el.querySelector("[data-progress-text]");
  const status = el.querySelector("[data-progress-status]");
  source.addEventListener("progress", function (message) {
    const data = JSON.parse(message.data);
    if (bar && data.total) {
      bar.max = data.total;
      bar.value = data.done;
    }
    if (text) text.textContent = data.text;
    if (status) status.textContent = data.status;
  });
  source.addEventListener("end", function (message) {
    const data = JSON.parse(message.data);
    source.close();
    if (status) status.textContent = data.status;
    el.dataset.finished = data.status;
    // The run's page shows the final counts: load it again once the run is over.
    if (el.dataset.reloadOnEnd) window.location.reload();
  });
  source.onerror = function () {
    // The server closes the stream when the run ends; EventSource would retry for ever.
    if (el.dataset.finished) source.close();
  };
}

function wire(root) {
  root.querySelectorAll("[data-progress-url]").forEach(followProgress);
}

document.addEventListener("DOMContentLoaded", function () { wire(document); });
document.addEventListener("htmx:load", function (event) { wire(event.detail.elt); });
