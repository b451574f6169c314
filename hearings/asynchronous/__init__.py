"""Asynchronous hearings (异步审理, Online Litigation Rules Art. 20, 21, 25): eligibility, stages,
posts chained into a hash-linked hearing record, missed windows, the signed transcript."""
