/*
 * Progressive enhancement for Practice Problems (like Next.js server actions).
 *
 * Every page works without this file. With it, a form marked `data-enhance`
 * is submitted with fetch (the same body the browser would send): the submit
 * button is disabled and the form marked aria-busy while it runs; the answer
 * (after redirects) is parsed and its header, flash area and <main> are
 * swapped into this page. A success moves the address with history.pushState;
 * a 4xx (422 with errors beside the fields, 400, 403, ...) is shown in place.
 * The page itself is never reloaded. Back and forward fetch and swap again.
 *
 * It also runs the "Call again" button of the live panel on /compare, and
 * opens the folded section of /compare that a link points to.
 */
(function () {
  "use strict";

  var SWAP_SELECTOR = "[data-swap][id]";
  var navigation = 0; // the latest swap wins when several are in flight

  function setPending(on) {
    document.documentElement.classList.toggle("is-pending", on);
  }

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  /* Put the regions of `doc` (header, flash area, main) in place of ours. */
  function swap(doc) {
    if (doc.title) {
      document.title = doc.title;
    }
    document.querySelectorAll(SWAP_SELECTOR).forEach(function (region) {
      var fresh = doc.getElementById(region.id);
      if (fresh) {
        region.className = fresh.className;
        region.replaceChildren.apply(
          region,
          Array.prototype.map.call(fresh.childNodes, function (node) {
            return document.importNode(node, true);
          })
        );
      }
    });
    mount(document);
  }

  function focusAfterSwap(kind, keepFocusId) {
    var target = null;
    if (kind === "error") {
      target =
        document.querySelector("[data-error-summary]") ||
        document.querySelector("[aria-invalid='true']");
    }
    if (!target && kind === "page") {
      // what the answer asks to be looked at (a statement's preview)
      target = document.querySelector("[data-focus-after-swap]");
      if (target) {
        target.focus({ preventScroll: true });
        target.scrollIntoView({ block: "start" });
        return;
      }
    }
    if (!target && kind === "search") {
      // a search keeps the focus in its box, so the query can be refined at once
      target = document.getElementById(keepFocusId || "");
      if (target) {
        target.focus({ preventScroll: true });
        if (typeof target.setSelectionRange === "function" && target.type !== "select-one") {
          target.setSelectionRange(target.value.length, target.value.length);
        }
        return;
      }
    }
    if (!target) {
      // the new page's heading, so a screen reader starts there; the flash above it stays in view
      target = document.querySelector("#main h1") || document.getElementById("main");
      if (target.tabIndex < 0 && !target.hasAttribute("tabindex")) {
        target.setAttribute("tabindex", "-1");
      }
    }
    target.focus({ preventScroll: true });
    if (kind === "error") {
      target.scrollIntoView({ block: "center" });
    }
  }

  function isHtml(response) {
    return (response.headers.get("Content-Type") || "").indexOf("text/html") !== -1;
  }

  function busy(form, submitter, on) {
    if (on) {
      form.setAttribute("aria-busy", "true");
    } else {
      form.removeAttribute("aria-busy");
    }
    form.querySelectorAll("button[type='submit'], button:not([type]), input[type='submit']").forEach(
      function (button) {
        button.disabled = on;
      }
    );
    // What is typed while the request is on its way would be lost: nothing is editable meanwhile.
    // (The body was read before this, so fields made read-only or disabled are still sent.)
    form.querySelectorAll("input:not([type='hidden']), textarea, select").forEach(function (field) {
      if (on && !field.readOnly && !field.disabled) {
        field.dataset.pendingLock = "1";
        if (field.tagName === "SELECT" || field.type === "checkbox" || field.type === "radio") {
          field.disabled = true;
        } else {
          field.readOnly = true;
        }
      } else if (!on && field.dataset.pendingLock) {
        delete field.dataset.pendingLock;
        field.readOnly = false;
        field.disabled = false;
      }
    });
    if (submitter && submitter.dataset && submitter.dataset.pendingLabel) {
      if (on) {
        submitter.dataset.idleLabel = submitter.textContent;
        submitter.textContent = submitter.dataset.pendingLabel;
      } else if (submitter.dataset.idleLabel) {
        submitter.textContent = submitter.dataset.idleLabel;
      }
    }
  }

  function formBody(form, submitter) {
    var data;
    try {
      data = new FormData(form, submitter || undefined);
    } catch (err) {
      data = new FormData(form);
    }
    return new URLSearchParams(data);
  }

  function submitNatively(form) {
    form.removeAttribute("data-enhance");
    HTMLFormElement.prototype.submit.call(form);
  }

  function submit(form, submitter) {
    var method = (form.getAttribute("method") || "get").toUpperCase();
    var action = (submitter && submitter.getAttribute("formaction")) || form.action;
    var url = new URL(action, window.location.href);
    var body = formBody(form, submitter);
    var init = {
      method: method,
      redirect: "follow",
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    };
    if (method === "GET") {
      // leave out the empty fields: "?q=tree", not "?q=tree&difficulty=&tag="
      var query = new URLSearchParams();
      body.forEach(function (value, name) {
        if (value !== "") {
          query.append(name, value);
        }
      });
      url.search = query.toString();
    } else {
      init.body = body;
    }
    if (url.origin !== window.location.origin) {
      submitNatively(form);
      return;
    }
    // A search (a form with role="search") keeps the focus in the field it was sent from.
    var searching = method === "GET" && form.getAttribute("role") === "search";
    var keepFocusId = searching && document.activeElement ? document.activeElement.id : "";
    var ticket = ++navigation;
    busy(form, submitter, true);
    setPending(true);
    fetch(url.href, init)
      .then(function (response) {
        return response.text().then(function (html) {
          return { response: response, html: html };
        });
      })
      .then(function (result) {
        var response = result.response;
        if (ticket !== navigation) {
          return;
        }
        if (!isHtml(response)) {
          // Not a page (should not happen): let the browser show it.
          window.location.assign(response.url);
          return;
        }
        swap(parse(result.html));
        if (response.ok) {
          if (response.redirected || method === "GET") {
            if (response.url === window.location.href) {
              history.replaceState({ enhanced: true }, "", response.url);
            } else {
              history.pushState({ enhanced: true }, "", response.url);
            }
          }
          if (!searching) {
            window.scrollTo(0, 0); // a new page: from its top, where the flash is
          }
          focusAfterSwap(searching ? "search" : "page", keepFocusId);
        } else {
          focusAfterSwap("error");
        }
      })
      .catch(function () {
        // The network failed: fall back to a plain submission.
        if (ticket === navigation) {
          busy(form, submitter, false);
          submitNatively(form);
        }
      })
      .finally(function () {
        if (ticket === navigation) {
          setPending(false);
        }
        if (form.isConnected) {
          busy(form, submitter, false);
        }
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-enhance")) {
      return;
    }
    if (event.defaultPrevented) {
      return;
    }
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") {
      return; // a second click while the first is on its way
    }
    submit(form, event.submitter);
  });

  /* Back and forward between entries we pushed: fetch the page and swap it in. */
  window.addEventListener("popstate", function (event) {
    if (!event.state || !event.state.enhanced) {
      return;
    }
    var ticket = ++navigation;
    setPending(true);
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.text().then(function (html) {
          if (ticket === navigation && isHtml(response)) {
            swap(parse(html));
          }
        });
      })
      .catch(function () {
        window.location.reload();
      })
      .finally(function () {
        if (ticket === navigation) {
          setPending(false);
        }
      });
  });

  /* -- the live panel on /compare ------------------------------------------------------ */

  function nowrap(text, className) {
    var span = document.createElement("span");
    span.className = className || "nowrap";
    span.textContent = text;
    return span;
  }

  function setField(card, name, text, className) {
    var cell = card.querySelector("[data-live='" + name + "']");
    if (!cell) {
      return;
    }
    if (name === "cache-control") {
      // one directive per unbreakable piece, as the server renders it
      var nodes = [];
      text.split(", ").forEach(function (part, index) {
        if (index) {
          nodes.push(document.createTextNode(", "));
        }
        nodes.push(nowrap(part));
      });
      cell.replaceChildren.apply(cell, nodes);
    } else {
      cell.replaceChildren(nowrap(text, className));
    }
  }

  function callOne(card) {
    var url = card.getAttribute("data-live-url");
    var started = performance.now();
    return fetch(url, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          var elapsed = performance.now() - started;
          var value;
          if (Array.isArray(body)) {
            value = body.length + (body.length === 1 ? " problem" : " problems");
          } else if (body && body.now) {
            value = body.now;
          } else {
            value = "HTTP " + response.status;
          }
          var state = response.headers.get("X-Cache");
          var dataState = response.headers.get("X-Data-Cache");
          var age = response.headers.get("Age");
          setField(card, "value", value);
          setField(card, "x-cache", state || "none", "cache-state cache-state--" + (state || "none").toLowerCase());
          setField(card, "x-data-cache", dataState || "none", "cache-state cache-state--" + (dataState || "none").toLowerCase());
          setField(card, "cache-control", response.headers.get("Cache-Control") || "—");
          setField(card, "age", age ? age + " s" : "—");
          setField(card, "ms", elapsed.toFixed(1) + " ms");
          card.classList.remove("is-updated");
          void card.offsetWidth; // restart the highlight animation
          card.classList.add("is-updated");
        });
      })
      .catch(function () {
        setField(card, "value", "request failed");
      });
  }

  function callAll(panel) {
    if (panel.getAttribute("aria-busy") === "true") {
      return;
    }
    panel.setAttribute("aria-busy", "true");
    var cards = Array.prototype.slice.call(panel.querySelectorAll("[data-live-url]"));
    // One after the other, so each time measures one request alone.
    var chain = Promise.resolve();
    cards.forEach(function (card) {
      chain = chain.then(function () {
        return callOne(card);
      });
    });
    chain.then(function () {
      panel.removeAttribute("aria-busy");
      var source = panel.querySelector("[data-live-source]");
      if (source) {
        source.textContent =
          "Fetched by your browser at " + new Date().toLocaleTimeString() + " (cache: no-store, so only the server’s cache answers).";
      }
    });
  }

  /* -- /compare's folded sections: a link to one (or into one) opens it ----------------- */

  function openLinkedFold() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id ? document.getElementById(id) : null;
    var fold = target ? target.closest("details.fold") : null;
    if (fold && !fold.open) {
      fold.open = true;
      target.scrollIntoView();
    }
  }

  window.addEventListener("hashchange", openLinkedFold);

  /* -- a confirmation (Delete…, Revoke…) closes with Escape, as a dialog does ------------- */

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var open = document.activeElement && document.activeElement.closest("details.confirm[open]");
    if (open) {
      open.open = false;
      open.querySelector("summary").focus();
      event.preventDefault();
    }
  });
  openLinkedFold();

  /* Wire up what needs JavaScript in `root` (after load and after each swap). */
  function mount(root) {
    root.querySelectorAll("[data-live-panel]").forEach(function (panel) {
      var button = panel.querySelector("[data-call-again]");
      if (button && !button.dataset.mounted) {
        button.dataset.mounted = "1";
        button.addEventListener("click", function (event) {
          event.preventDefault();
          callAll(panel);
        });
      }
    });
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      var source = document.querySelector(button.getAttribute("data-copy"));
      if (!source || button.dataset.mounted || !navigator.clipboard) {
        return;
      }
      button.dataset.mounted = "1";
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.value).then(function () {
          button.textContent = "Copied";
        });
      });
    });
    root.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
      if (input.dataset.mounted) {
        return;
      }
      input.dataset.mounted = "1";
      input.addEventListener("focus", function () {
        input.select();
      });
    });
  }

  history.replaceState(Object.assign({}, history.state, { enhanced: true }), "", window.location.href);
  mount(document);
})();
