"""The worker VM as every backend creates it: its image, its OS disk and its admin user
(one place, so the `sim` backend sends what the azure backend sends)."""

WORKER_IMAGE = {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                "version": "latest"}
WORKER_OS_DISK_SKU = "StandardSSD_LRS"
WORKER_OS_DISK_GB = 30  # the image's OS disk size (Ubuntu marketplace images: 30 GB)
WORKER_ADMIN = "restorelab"
