"""The claim engine: extract factual claims and judge them new, repeated or updated."""
