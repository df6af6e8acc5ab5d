-- CreateTable
CREATE TABLE "DeviceHome" (
    "deviceId" TEXT NOT NULL PRIMARY KEY,
    "region" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE INDEX "DeviceHome_region_idx" ON "DeviceHome"("region");

