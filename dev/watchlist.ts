/**
 * What `npm start` and `npm run simulate` fetch on the free plan (20 calls a day) when no
 * symbols are given: well-known names on five exchanges, every one of them in the
 * simulator's sample universe (the ETF too): 5 symbol lists + 9 histories fit the 18
 * calls the plan leaves after its buffer.
 */
export const FREE_PLAN_WATCHLIST = ['AAPL.US', 'MSFT.US', 'GOOGL.US', 'BRK-B.US', 'SPY.US', 'BP.LSE', 'HSBA.LSE', 'SAP.XETRA', 'ASML.AS'];
