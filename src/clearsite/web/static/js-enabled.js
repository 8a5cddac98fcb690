// Loaded synchronously at the top of <body>, as GOV.UK Frontend's template does inline (our CSP forbids inline).
document.body.className += " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
