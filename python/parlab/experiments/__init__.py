"""The course's experiments beyond the tiles. Each returns a tidy pandas DataFrame with at
least the columns mode, task, worker, start_s and end_s; `parlab.plots` draws them."""
