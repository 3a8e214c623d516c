"""Applications: a seeker's application to a job, its history, and the employer's pipeline."""
