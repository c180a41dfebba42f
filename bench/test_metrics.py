"""Unit tests of bench/metrics.py on cases computed by hand (the arithmetic is in the comments).
Run: /usr/bin/python3 -m unittest discover -s bench -p 'test_*.py'   (or make check-bench)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics as M  # noqa: E402


class TestAP(unittest.TestCase):
    def test_ap_textbook(self):
        # Ranking: P N P N N, 2 positives. Precision at the hits: 1/1 and 2/3.
        # AP = (1 + 2/3) / 2 = 5/6.
        items = [(0.9, 1), (0.8, 0), (0.7, 1), (0.6, 0), (0.5, 0)]
        self.assertAlmostEqual(M.ap(items, 2), 5 / 6)

    def test_ap_unranked_positive_counts_as_miss(self):
        # Same ranking but the query has 3 positives, one never returned: (1 + 2/3 + 0) / 3 = 5/9.
        items = [(0.9, 1), (0.8, 0), (0.7, 1), (0.6, 0), (0.5, 0)]
        self.assertAlmostEqual(M.ap(items, 3), 5 / 9)
        # A None score is "not ranked": same as leaving the item out.
        self.assertAlmostEqual(M.ap(items + [(None, 1)], 3), 5 / 9)

    def test_ap_ties_are_pessimistic(self):
        # Scores 0.5 (pos) and 0.5 (neg) tie: negative first, so the positive is at rank 2: AP 1/2.
        self.assertAlmostEqual(M.ap([(0.5, 1), (0.5, 0)], 1), 0.5)
        self.assertAlmostEqual(M.ap([(0.5, 0), (0.5, 1)], 1), 0.5)

    def test_ap_no_positive(self):
        self.assertIsNone(M.ap([(0.3, 0)], 0))

    def test_ap_top_k(self):
        # Ranking: N P N P, 3 positives in total, k = 2: top 2 = N P; one positive found at rank 2,
        # precision there 1/2; DMI normalises by the positives found (1): 0.5. The full AP is
        # (1/2 + 2/4 + 0) / 3 = 1/3.
        items = [(0.9, 0), (0.8, 1), (0.7, 0), (0.6, 1)]
        self.assertAlmostEqual(M.ap_top(items, 3, k=2), 0.5)
        self.assertAlmostEqual(M.ap(items, 3), 1 / 3)
        # Nothing in the top k: 0.
        self.assertEqual(M.ap_top([(0.9, 0), (0.1, 1)], 1, k=1), 0.0)

    def test_recall_at_1(self):
        self.assertEqual(M.recall_at_1([(0.2, 1), (0.9, 0)], 1), 0.0)
        self.assertEqual(M.recall_at_1([(0.95, 1), (0.9, 0)], 1), 1.0)
        self.assertEqual(M.recall_at_1([], 1), 0.0)

    def test_retrieval_micro_vs_macro(self):
        # q1: refs a (pos, 0.9), b (neg, 0.8)          -> AP 1, R@1 1
        # q2: refs a (neg, 0.7), b (pos, 0.2)          -> AP 1/2, R@1 0
        # q3: no positive (a "none" query)             -> skipped by mAP, but its pairs are pooled
        #     a (neg, 0.95)
        # mAP = (1 + 1/2) / 2 = 0.75.
        # Pooled ranking: q3a N 0.95, q1a P 0.9, q1b N 0.8, q2a N 0.7, q2b P 0.2; 2 true pairs.
        # micro-AP = (1/2 + 2/5) / 2 = 0.45.
        scores = {"q1": {"a": 0.9, "b": 0.8}, "q2": {"a": 0.7, "b": 0.2}, "q3": {"a": 0.95}}
        truth = {"q1": {"a"}, "q2": {"b"}, "q3": set()}
        fam = {"q1": "hflip", "q2": "crop", "q3": "none"}
        r = M.retrieval(scores, truth, fam)
        self.assertAlmostEqual(r["overall"]["map"], 0.75)
        self.assertAlmostEqual(r["overall"]["micro_ap"], 0.45)
        self.assertAlmostEqual(r["overall"]["recall1"], 0.5)
        self.assertAlmostEqual(r["per_family"]["crop"]["map"], 0.5)
        # Per family "hflip": only q1's pairs: P N -> micro-AP 1.
        self.assertAlmostEqual(r["per_family"]["hflip"]["micro_ap"], 1.0)
        self.assertIsNone(r["per_family"]["none"]["map"])

    def test_top1_share(self):
        # q1's best is b (0.8 > 0.5): b is a target -> hit. q2's best ties a (target) and c
        # (not) at 0.9: pessimistic, c first -> miss. Share 1/2.
        scores = {"q1": {"a": 0.5, "b": 0.8}, "q2": {"a": 0.9, "c": 0.9}}
        self.assertAlmostEqual(M.top1_share(scores, {"q1": {"b"}, "q2": {"a"}}), 0.5)

    def test_operating_points(self):
        # Pooled (from the case above): N .95, P .9, N .8, N .7, P .2 with 2 true pairs.
        # Thresholds: .95 -> P 0/1; .9 -> P 1/2, R 1/2; .8 -> 1/3; .7 -> 1/4; .2 -> 2/5, R 1.
        # F1: .9 -> 2*.5*.5/1 = .5; .2 -> 2*.4*1/1.4 = 0.5714 (best).
        scores = {"q1": {"a": 0.9, "b": 0.8}, "q2": {"a": 0.7, "b": 0.2}, "q3": {"a": 0.95}}
        truth = {"q1": {"a"}, "q2": {"b"}, "q3": set()}
        op = M.operating_points(scores, truth, targets=(0.5, 0.9))
        self.assertAlmostEqual(op["best_f1"]["threshold"], 0.2)
        self.assertAlmostEqual(op["best_f1"]["f1"], 0.8 / 1.4)
        self.assertAlmostEqual(op["targets"]["0.5"]["threshold"], 0.9)
        self.assertAlmostEqual(op["targets"]["0.5"]["recall"], 0.5)
        self.assertIsNone(op["targets"]["0.9"])


class TestLocalisation(unittest.TestCase):
    def test_union_length(self):
        # [0,2] u [1,3] = [0,3] (3) plus [5,6] (1) = 4.
        self.assertAlmostEqual(M.union_length([(0, 2), (1, 3), (5, 6)]), 4.0)
        self.assertAlmostEqual(M.union_length([]), 0.0)

    def test_perfect_and_empty(self):
        g = [(2, 6, 10, 14)]
        self.assertEqual(M.pair_precision_recall(g, g), (1.0, 1.0))
        self.assertEqual(M.pair_precision_recall([], g), (0.0, 0.0))

    def test_partial_overlap(self):
        # Truth: query [2,6] <-> ref [10,14]. Prediction: query [4,8] <-> ref [12,16].
        # Intersection box: query [4,6] (2 s), ref [12,14] (2 s).
        # P = 2/4 * 2/4 = 0.25; R = 2/4 * 2/4 = 0.25.
        p, r = M.pair_precision_recall([(4, 8, 12, 16)], [(2, 6, 10, 14)])
        self.assertAlmostEqual(p, 0.25)
        self.assertAlmostEqual(r, 0.25)

    def test_short_prediction_inside_truth(self):
        # Truth q [0,10] r [0,10]; prediction q [2,4] r [2,4] (inside).
        # Intersection = prediction: P = 1 * 1 = 1; R = 2/10 * 2/10 = 0.04.
        p, r = M.pair_precision_recall([(2, 4, 2, 4)], [(0, 10, 0, 10)])
        self.assertAlmostEqual(p, 1.0)
        self.assertAlmostEqual(r, 0.04)

    def test_two_segments_speed_change(self):
        # Truth: two excerpts, q [1,3]<->r [0,4] (slowed 2x... i.e. query half as long) and
        # q [5,7]<->r [6,10]. Prediction: one box q [1,3] r [0,4] only.
        # Intersections: with the first truth box, q [1,3] r [0,4]; with the second none.
        # |I_q| = 2, |I_r| = 4; |P_q| = 2, |P_r| = 4 -> P = 1.
        # |G_q| = 2 + 2 = 4, |G_r| = 4 + 4 = 8 -> R = 2/4 * 4/8 = 0.25.
        p, r = M.pair_precision_recall([(1, 3, 0, 4)], [(1, 3, 0, 4), (5, 7, 6, 10)])
        self.assertAlmostEqual(p, 1.0)
        self.assertAlmostEqual(r, 0.25)

    def test_wrong_axis_offset_gives_zero(self):
        # Right query span, wrong reference span (no overlap on the ref axis): no intersection.
        self.assertEqual(M.pair_precision_recall([(2, 6, 20, 24)], [(2, 6, 10, 14)]), (0.0, 0.0))

    def test_localisation_f1(self):
        # Pairs: (P 1, R .04) and (P .25, R .25): mean P .625, mean R .145.
        # F1 = 2 * .625 * .145 / (.625 + .145) = .18125 / .77 = 0.235389...
        pairs = [([(2, 4, 2, 4)], [(0, 10, 0, 10)]), ([(4, 8, 12, 16)], [(2, 6, 10, 14)])]
        r = M.localisation(pairs)
        self.assertAlmostEqual(r["precision"], 0.625)
        self.assertAlmostEqual(r["recall"], 0.145)
        self.assertAlmostEqual(r["f1"], 0.18125 / 0.77)


if __name__ == "__main__":
    unittest.main()
