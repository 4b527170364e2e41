"""Figure timelines: series of a running figure, their charts and exports."""
