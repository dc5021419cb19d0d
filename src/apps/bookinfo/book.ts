// The one book bookinfo knows, as the real services describe it. Each service owns its part
// (productpage the title, details the edition, reviews the texts, ratings the stars); they
// sit together here so the data a learner compares with real bookinfo is in one place.

export const PRODUCT_ID = 0;

export const PRODUCT = {
  id: PRODUCT_ID,
  title: 'The Comedy of Errors',
  descriptionHtml:
    '<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: ' +
    "The Comedy of Errors is one of <b>William Shakespeare's</b> early plays. It is his shortest " +
    'and one of his most farcical comedies, with a major part of the humour coming from slapstick ' +
    'and mistaken identity, in addition to puns and word play.',
} as const;

/** The details service's record; only the id changes with the request. */
export function bookDetails(id: number): Record<string, string | number> {
  return {
    id,
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  };
}

export const REVIEWS: ReadonlyArray<{ readonly reviewer: string; readonly text: string }> = [
  { reviewer: 'Reviewer1', text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!' },
  { reviewer: 'Reviewer2', text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.' },
];

export const RATINGS: Readonly<Record<string, number>> = { Reviewer1: 5, Reviewer2: 4 };

/** Real bookinfo reads product ids as integers and answers 400 (details, ratings) otherwise. */
export function parseProductId(raw: string): number | undefined {
  return /^\d+$/.test(raw) ? Number(raw) : undefined;
}
