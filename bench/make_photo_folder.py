# Writes an image folder of real photographs for bench/loader.sh: random crops of
# scikit-image's sample photographs (Debian's python3-skimage), resized to 500 x 375 and saved
# as JPEG (quality 90), 512 in train/ and 128 in val/ over 4 classes. Needs python3-pil.
# Usage: /usr/bin/python3 bench/make_photo_folder.py OUT_DIR
import os, random, sys
from PIL import Image

out = sys.argv[1]
random.seed(1)
src = "/usr/lib/python3/dist-packages/skimage/data/"
names = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "camera.png",
         "hubble_deep_field.jpg", "retina.jpg"]
imgs = [Image.open(src + f).convert("RGB") for f in names if os.path.exists(src + f)]
for split, n in [("train", 512), ("val", 128)]:
    for i in range(n):
        k = i % len(imgs)
        im = imgs[k]
        W, H = im.size
        w, h = random.randint(W // 2, W), random.randint(H // 2, H)
        x, y = random.randint(0, W - w), random.randint(0, H - h)
        d = os.path.join(out, split, "c%d" % (k % 4))
        os.makedirs(d, exist_ok=True)
        im.crop((x, y, x + w, y + h)).resize((500, 375)).save(os.path.join(d, "%04d.jpg" % i), quality=90)
