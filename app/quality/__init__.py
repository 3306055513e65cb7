"""Script quality: checklists, evaluations of calls against them, scores and what they predict."""
