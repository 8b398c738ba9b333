// The dashboard's pages, drawn from the JSON API (no framework, no CDN). Each page's
// shell names it in <main data-page>; texts from the index are only ever set as text,
// never parsed as HTML.

const main = document.getElementById("app");
const POLL_MS = 2000;

async function api(path, options = {}) {
  const headers = { "X-Dedup-UI": "1", ...(options.body ? { "Content-Type": "application/json" } : {}) };
  const res = await fetch(path, { ...options, headers, credentials: "same-origin" });
  if (res.status === 401) {
    location.href = "/ui/login?next=" + encodeURIComponent(location.pathname + location.search);
    throw new Error("signed out");
  }
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "";
}

function percent(share) {
  return `${Math.round(share * 100)}%`;
}

function heading(text) {
  main.replaceChildren(el("h1", {}, text));
}

function failed(error) {
  main.append(el("p", { class: "error", role: "alert" }, String(error.message || error)));
}

// ---- /ui/: the live feed of clusters -------------------------------------------------

const SINCE = { "": "any time", "1h": "last hour", "24h": "last 24 hours", "7d": "last 7 days" };
const HOURS = { "1h": 1, "24h": 24, "7d": 168 };

async function feed() {
  heading("Story feed");
  const query = new URLSearchParams(location.search);
  const field = (name, label) =>
    el("label", {}, label, el("input", { name, id: `f-${name}`, value: query.get(name) || "", type: "search" }));
  const since = el("select", { name: "since", id: "f-since" },
    ...Object.entries(SINCE).map(([v, t]) => el("option", { value: v, selected: query.get("since") === v }, t)));
  const form = el("form", { class: "filters", role: "search", "aria-label": "filters" },
    field("site", "Site"), field("agency", "Agency"), field("lang", "Language"), el("label", {}, "Since", since),
    el("button", { type: "submit" }, "Filter"));
  const status = el("p", { class: "status", role: "status" });
  const list = el("ol", { class: "feed", id: "feed" });
  main.append(form, status, list);

  async function refresh() {
    const params = new URLSearchParams({ min_size: "2", limit: "50" });
    for (const name of ["site", "agency", "lang"]) if (query.get(name)) params.set(name, query.get(name));
    const hours = HOURS[query.get("since") || ""];
    if (hours) params.set("since", new Date(Date.now() - hours * 3600e3).toISOString());
    try {
      const body = await api("/v1/clusters?" + params);
      list.replaceChildren(...body.clusters.map(feedEntry));
      status.textContent = body.clusters.length ? `${body.clusters.length} stories, updated ${when(new Date())}`
        : "No story with copies yet.";
    } catch (error) {
      status.textContent = `Could not load the feed: ${error.message}`;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    for (const [name, value] of new FormData(form)) value ? query.set(name, value) : query.delete(name);
    history.replaceState(null, "", "?" + query);
    refresh();
  });
  await refresh();
  setInterval(() => document.visibilityState === "visible" && refresh(), POLL_MS);
}

function feedEntry(c) {
  return el("li", { class: "entry", "data-cluster": c.cluster_id },
    el("a", { href: `/ui/clusters/${encodeURIComponent(c.cluster_id)}` }, c.title || c.cluster_id),
    el("span", { class: "meta" },
      el("span", { class: "agency" }, c.agency || "no agency"),
      el("span", {}, `${c.size} articles`),
      el("span", {}, `${c.sites.length} ${c.sites.length === 1 ? "site" : "sites"}`),
      c.lang ? el("span", {}, c.lang) : null,
      c.first_seen ? el("time", { datetime: c.first_seen, class: "first" }, `first ${when(c.first_seen)}`) : null,
      el("time", { datetime: c.updated_at, class: "last" }, `last ${when(c.updated_at)}`)));
}

// ---- /ui/clusters/{id}: the original and every member ----------------------------------

async function cluster(id) {
  heading("Cluster");
  const c = await api(`/v1/clusters/${encodeURIComponent(id)}`);
  const original = c.original;
  main.querySelector("h1").textContent = original.title || original.id;
  main.append(el("p", { class: "meta" },
    el("span", { class: "agency" }, c.agency || "no agency"), el("span", {}, `${c.size} articles`),
    el("span", {}, `${c.sites.length} sites`)));
  main.append(timeline(c.members));
  const rows = document.createDocumentFragment();
  for (const m of c.members) {
    const compare = m.id === original.id ? "original"
      : el("a", { href: `/ui/articles/${encodeURIComponent(m.id)}?vs=${encodeURIComponent(original.id)}` }, "compare");
    rows.append(el("tr", { "data-member": m.id },
      el("td", {}, m.site || "—"),
      el("td", {}, m.title || m.id),
      el("td", {}, el("time", { datetime: m.published_at || m.ingested_at }, when(m.published_at || m.ingested_at))),
      el("td", { class: `relation ${m.relation}` }, m.relation),
      el("td", {}, el("meter", { min: "0", max: "1", value: String(m.kept), "aria-label": "share kept" }), " ",
        percent(m.kept)),
      el("td", {}, compare)));
  }
  main.append(el("div", { class: "scroll" }, el("table", { class: "members" },
    el("caption", {}, "Members, first published first, and the share of the original each kept"),
    el("thead", {}, el("tr", {}, ...["Site", "Title", "Published", "Relation", "Kept", ""].map((h) =>
      el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows))));
}

function timeline(members) {
  const times = members.map((m) => Date.parse(m.published_at || m.ingested_at));
  const sites = [...new Set(members.map((m) => m.site || "—"))];
  const lo = Math.min(...times), span = Math.max(Math.max(...times) - lo, 1);
  const width = 800, row = 18, left = 150, height = sites.length * row + 24;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "timeline", role: "img",
    "aria-label": `When each of ${sites.length} sites published, from ${when(new Date(lo))}` });
  sites.forEach((site, i) => chart.append(svg("text", { x: "4", y: String(i * row + 14) }, site)));
  members.forEach((m, k) => {
    const x = left + ((times[k] - lo) / span) * (width - left - 10);
    const dot = svg("circle", { cx: String(x), cy: String(sites.indexOf(m.site || "—") * row + 10), r: "5",
      class: `dot ${m.relation}` }, svg("title", {}, `${m.site || "—"} · ${m.relation} · ${when(times[k])}`));
    chart.append(dot);
  });
  chart.append(svg("text", { x: String(left), y: String(height - 4) }, when(new Date(lo))),
    svg("text", { x: String(width - 10), y: String(height - 4), "text-anchor": "end" }, when(new Date(lo + span))));
  return el("figure", {}, chart, el("figcaption", {}, "When each site published"));
}

// ---- side by side: what a copy kept, added, cut and changed ----------------------------

const LABELS = { same: "shared", only_a: "only here", only_b: "only there", changed: "changed" };

function marked(text, passages, side) {
  const out = document.createDocumentFragment();
  let at = 0;
  for (const p of passages) {
    const range = p[side];
    if (!range) continue;
    const [start, end] = range;
    if (start > at) out.append(text.slice(at, start));
    const kind = p.kind === "only_a" || p.kind === "only_b" ? "only" : p.kind;
    const cls = `span ${kind}${p.kind === "changed" && p.facts ? " fact" : ""}`;
    out.append(kind === "same" ? text.slice(start, end) : el("mark", { class: cls, title: LABELS[p.kind] },
      text.slice(start, end)));
    at = end;
  }
  out.append(text.slice(at));
  return out;
}

function sideBySide(left, right, passages, keptLeft, keptRight) {
  return el("div", { class: "sides" },
    el("section", { "aria-label": left.label }, el("h2", {}, left.label), el("p", { class: "meta" },
      `${percent(keptLeft)} of its words are in the other`), el("div", { class: "text" }, marked(left.text,
      passages, "a"))),
    el("section", { "aria-label": right.label }, el("h2", {}, right.label), el("p", { class: "meta" },
      `${percent(keptRight)} of its words are in the other`), el("div", { class: "text" }, marked(right.text,
      passages, "b"))));
}

function legend() {
  return el("p", { class: "legend" }, el("mark", { class: "span only" }, "only on one side"), " ",
    el("mark", { class: "span changed" }, "changed"), " ", el("mark", { class: "span changed fact" },
      "changed figure or name"));
}

async function article(id, vs) {
  heading("Side by side");
  if (!vs) {
    const a = await api(`/v1/articles/${encodeURIComponent(id)}?include=text`);
    main.querySelector("h1").textContent = a.title || a.id;
    main.append(el("ul", { class: "matches" }, ...a.matches.map((m) => el("li", {},
      el("a", { href: `/ui/articles/${encodeURIComponent(id)}?vs=${encodeURIComponent(m.id)}` }, m.title || m.id),
      ` ${m.relation}`))), el("div", { class: "text" }, a.text));
    return;
  }
  const d = await api(`/v1/articles/${encodeURIComponent(id)}/diff?against=${encodeURIComponent(vs)}`);
  main.append(legend(), sideBySide({ label: id, text: d.text }, { label: vs, text: d.against_text },
    d.passages, d.kept_a, d.kept_b));
}

// ---- /ui/check: a verdict without indexing ---------------------------------------------

async function check() {
  heading("Check a text");
  const text = el("textarea", { id: "c-text", name: "text", rows: "12", required: true });
  const isHtml = el("input", { id: "c-html", name: "html", type: "checkbox" });
  const form = el("form", { class: "check" }, el("label", { for: "c-text" }, "Text, or the HTML of a page"), text,
    el("label", {}, isHtml, " It is HTML"), el("button", { type: "submit" }, "Check"));
  const result = el("div", { id: "verdict", "aria-live": "polite" });
  main.append(form, result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    result.replaceChildren(el("p", { role: "status" }, "Checking…"));
    try {
      const field = isHtml.checked ? "html" : "text";
      const v = await api("/v1/check?explain=1", { method: "POST", body: JSON.stringify({ [field]: text.value }) });
      result.replaceChildren(el("p", { class: "relation" }, el("strong", {}, v.relation),
        v.agency ? ` · ${v.agency}` : ""), el("ul", { class: "matches" }, ...v.matches.map((m) => el("li", {},
          el("a", { href: `/ui/articles/${encodeURIComponent(m.id)}` }, m.title || m.id),
          ` ${m.relation}, similarity ${m.similarity.toFixed(2)}`))));
      const first = v.matches.find((m) => m.passages);
      if (first) {
        const other = await api(`/v1/articles/${encodeURIComponent(first.id)}?include=text`);
        result.append(legend(), sideBySide({ label: "your text", text: v.text }, { label: first.id, text: other.text },
          first.passages, first.kept_a, first.kept_b));
      }
    } catch (error) {
      result.replaceChildren(el("p", { class: "error", role: "alert" }, error.message));
    }
  });
}

// ---- /ui/stats: ingest rate, copies, sites and relations --------------------------------

function counters(text, name) {
  const out = {};
  for (const line of text.split("\n")) {
    const m = line.match(new RegExp(`^${name}_total\\{[a-z]+="([^"]*)"\\} ([0-9.e+]+)$`));
    if (m) out[m[1]] = (out[m[1]] || 0) + Number(m[2]);
  }
  return out;
}

function bars(title, counts) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]).slice(0, 10);
  const top = Math.max(1, ...entries.map(([, n]) => n));
  return el("figure", { class: "bars" }, el("figcaption", {}, title), ...entries.map(([label, n]) =>
    el("div", { class: "bar" }, el("span", {}, label), el("meter", { min: "0", max: String(top), value: String(n),
      "aria-label": label }), el("span", {}, String(n)))));
}

async function stats() {
  heading("Stats");
  const box = el("div", { id: "stats" });
  main.append(box);
  let last = null;
  async function refresh() {
    const res = await fetch("/metrics", { headers: { "X-Dedup-UI": "1" }, credentials: "same-origin" });
    const text = await res.text();
    const verdicts = counters(text, "dedup_verdicts");
    const relations = counters(text, "dedup_matches");
    const total = Object.values(verdicts).reduce((a, b) => a + b, 0);
    const now = Date.now();
    const rate = last ? ((total - last.total) * 1000) / (now - last.at) : 0;
    last = { total, at: now };
    const copies = ["exact", "near_duplicate", "contained", "contains"].reduce((n, r) => n + (verdicts[r] || 0), 0);
    const listing = await api("/v1/clusters?min_size=2&limit=200");
    const perAgency = {};
    for (const c of listing.clusters) {
      const sites = (perAgency[c.agency || "no agency"] ||= {});
      for (const s of c.sites) sites[s] = (sites[s] || 0) + 1;
    }
    box.replaceChildren(el("p", { class: "meta" }, el("span", {}, `${total} articles ingested`),
      el("span", {}, `${rate.toFixed(1)} a second now`),
      el("span", { id: "copy-share" }, `${percent(total ? copies / total : 0)} of them copies`)),
      bars("Articles by relation", verdicts), bars("Matches reported, by relation", relations),
      ...Object.entries(perAgency).map(([agency, sites]) => bars(`Top republishing sites: ${agency}`, sites)));
  }
  await refresh();
  setInterval(() => document.visibilityState === "visible" && refresh().catch(failed), POLL_MS * 2);
}

const PAGES = {
  feed: () => feed(),
  cluster: () => cluster(main.dataset.id),
  article: () => article(main.dataset.id, main.dataset.vs),
  check: () => check(),
  stats: () => stats(),
};

PAGES[main.dataset.page]().catch(failed);
