#!/usr/bin/python3
"""Write a model without its head (a HEADLESS model: embeddings are the backbone's features).

`vinfringe finetune --head dmi` trains a DMI head together with the backbone; this keeps the
backbone alone, as the base for heads fitted or trained afterwards (models/make_default.sh,
bench/ablation.py). Every tensor but the `dmi.*` ones is copied unchanged.

Usage: strip_head.py IN.vimodel OUT.vimodel NAME
"""
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import vifile  # noqa: E402


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    m = vifile.read(sys.argv[1], "model")
    head = [k for k in m if k.startswith("dmi.")]
    if not head:
        sys.exit("strip_head: %s has no head" % sys.argv[1])
    for k in head:
        del m[k]
    m["description"] = "%s (%s; its head removed: headless)" % (sys.argv[3],
                                                                m.get("description", ""))
    m["name"] = sys.argv[3]
    vifile.write(sys.argv[2], "model", m)


if __name__ == "__main__":
    main()
