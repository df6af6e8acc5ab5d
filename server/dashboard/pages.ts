/** The pages build.ts writes into dist/ and static-route.ts serves at `/`: one per kind of server. */
/** A plane's (or the single-process server's) dashboard. */
export const DASHBOARD_PAGE = 'index.html';
/** The global directory's deployment overview: each plane's health and counts, links to each plane's dashboard. */
export const DEPLOYMENT_PAGE = 'deployment.html';
