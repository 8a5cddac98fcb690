// Starts GOV.UK Frontend and MOJ Frontend components, again inside anything htmx swaps in, and shows
// the body of a refused htmx request in the page's error summary instead of dropping it.
import * as govuk from "/static/govuk/govuk-frontend.min.js";
import * as moj from "/static/govuk/moj-frontend.min.js";

function start(scope) {
  govuk.initAll({ scope });
  moj.initAll({ scope });
}

function problemText(xhr) {
  const type = xhr.getResponseHeader("content-type") || "";
  if (type.includes("application/json")) {
    try {
      const detail = JSON.parse(xhr.responseText).detail;
      if (typeof detail === "string") return detail;
      if (Array.isArray(detail)) return detail.map((d) => (d.loc || []).slice(1).join(".") + ": " + d.msg).join("; ");
    } catch (_) { /* fall through to the status line */ }
  }
  if (type.includes("text/html")) {
    const doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
    const found = doc.querySelector("[role=alert], .govuk-error-summary__body, main, body");
    if (found && found.textContent.trim()) return found.textContent.trim().replace(/\s+/g, " ");
  }
  return "The server refused the request (" + xhr.status + " " + (xhr.statusText || "error") + "). Try again, or reload the page.";
}

function showProblem(message) {
  const box = document.getElementById("request-problem");
  if (!box) return;
  document.getElementById("request-problem-text").textContent = message;
  box.hidden = false;
  box.focus();
}

document.addEventListener("DOMContentLoaded", () => start(document));
document.addEventListener("htmx:afterSwap", (event) => start(event.detail.target));
document.addEventListener("htmx:beforeRequest", () => {
  const box = document.getElementById("request-problem");
  if (box) box.hidden = true;
});
document.addEventListener("htmx:beforeSwap", (event) => {
  // A page that renders its own error (an htmx partial with a 422 and a govuk-error-summary) is swapped in;
  // any other refusal is reported in the summary at the top of the page.
  const xhr = event.detail.xhr;
  if (xhr.status >= 400) {
    const type = xhr.getResponseHeader("content-type") || "";
    if (type.includes("text/html") && xhr.responseText.includes("govuk-error-summary")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else {
      showProblem(problemText(xhr));
    }
  }
});
document.addEventListener("htmx:sendError", () => showProblem("The server could not be reached. Check the connection and try again."));
