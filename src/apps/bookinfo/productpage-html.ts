// The productpage's HTML: the index and the product page. Plain strings, no template engine;
// everything that came from another service is escaped.
import { PRODUCT } from './book';

export interface DetailsView {
  readonly ok: boolean;
  readonly body: Record<string, unknown>;
}

export interface ReviewView {
  readonly reviewer: string;
  readonly text: string;
  readonly rating?: { readonly stars?: number; readonly color?: string; readonly error?: string };
}

export interface ReviewsView {
  readonly ok: boolean;
  readonly error?: string;
  readonly podname?: string;
  readonly clustername?: string;
  readonly reviews: readonly ReviewView[];
}

const MAX_STARS = 5;
const DETAIL_FIELDS: ReadonlyArray<[string, string]> = [
  ['type', 'Type'],
  ['pages', 'Pages'],
  ['publisher', 'Publisher'],
  ['language', 'Language'],
  ['ISBN-10', 'ISBN-10'],
  ['ISBN-13', 'ISBN-13'],
];

const STYLE = `body{font-family:sans-serif;margin:0}nav{background:#222;color:#eee;padding:.6em 1em}
nav a,nav form{color:#eee;float:right;margin:0}main{display:flex;gap:2em;padding:1em 2em}
section{flex:1}h4{color:#337ab7}blockquote{border-left:4px solid #ddd;margin:1em 0;padding:.2em 1em}
.stars{font-size:1.2em}.error{color:#a94442}`;

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n${body}\n</body>\n</html>\n`;
}

export function indexPage(services: ReadonlyArray<{ name: string; endpoint: string; children: readonly string[] }>): string {
  const rows = services
    .map((s) => `<tr><td>${escapeHtml(s.name)}</td><td>${escapeHtml(s.endpoint)}</td><td>${escapeHtml(s.children.join(', ') || '-')}</td></tr>`)
    .join('\n');
  return page(
    'Simple Bookstore App',
    `<nav>BookInfo Sample</nav>
<main><section>
<h3>Hello! This is a simple bookstore application consisting of three services as shown below</h3>
<table border="1" cellpadding="4"><tr><th>name</th><th>endpoint</th><th>children</th></tr>
${rows}
</table>
<p>Click on one of the links below to send a request through the mesh as a real user or a tester</p>
<p><a href="/productpage?u=normal">Normal user</a> &nbsp; <a href="/productpage?u=test">Test user</a></p>
</section></main>`,
  );
}

function stars(rating: NonNullable<ReviewView['rating']>): string {
  if (rating.error !== undefined || typeof rating.stars !== 'number') return `<p class="error"><i>${escapeHtml(rating.error ?? 'no rating')}</i></p>`;
  const n = Math.max(0, Math.min(MAX_STARS, Math.round(rating.stars)));
  const color = /^[a-z]+$/i.test(rating.color ?? '') ? rating.color : 'black';
  return `<span class="stars" style="color: ${color}" title="${n} stars">${'★'.repeat(n)}${'☆'.repeat(MAX_STARS - n)}</span>`;
}

function detailsSection(details: DetailsView): string {
  if (!details.ok) {
    return `<section class="details">\n<h4 class="error">Error fetching product details!</h4>\n<p>${escapeHtml(details.body.error ?? '')}</p>\n</section>`;
  }
  const rows = DETAIL_FIELDS.map(([key, label]) => `<dt>${label}:</dt><dd>${escapeHtml(details.body[key] ?? '')}</dd>`).join('\n');
  return `<section class="details">\n<h4>Book Details</h4>\n<dl>\n${rows}\n</dl>\n</section>`;
}

function reviewsSection(reviews: ReviewsView): string {
  if (!reviews.ok) {
    return `<section class="reviews">\n<h4 class="error">Error fetching product reviews!</h4>\n<p>${escapeHtml(reviews.error ?? '')}</p>\n</section>`;
  }
  const items = reviews.reviews
    .map(
      (r) =>
        `<blockquote class="review">\n<p>${escapeHtml(r.text)}</p>\n<small>${escapeHtml(r.reviewer)}</small>\n${r.rating ? stars(r.rating) : ''}\n</blockquote>`,
    )
    .join('\n');
  const cluster = reviews.clustername && reviews.clustername !== 'null' ? ` on cluster <u>${escapeHtml(reviews.clustername)}</u>` : '';
  return `<section class="reviews">\n<h4>Book Reviews</h4>\n${items}\n<dl><dt>Reviews served by:</dt><dd><u class="podname">${escapeHtml(reviews.podname ?? 'unknown')}</u>${cluster}</dd></dl>\n</section>`;
}

export function productPage(user: string | undefined, details: DetailsView, reviews: ReviewsView): string {
  const session = user
    ? `<a href="/logout">sign out</a><span>signed in as ${escapeHtml(user)} &nbsp;</span>`
    : `<form method="post" action="/login"><input name="username" placeholder="user name" size="10"> <button type="submit">Sign in</button></form>`;
  return page(
    'Simple Bookstore App',
    `<nav>BookInfo Sample ${session}</nav>
<main><section class="product">
<h3>${escapeHtml(PRODUCT.title)}</h3>
<p>${PRODUCT.descriptionHtml}</p>
</section></main>
<main>
${detailsSection(details)}
${reviewsSection(reviews)}
</main>`,
  );
}
