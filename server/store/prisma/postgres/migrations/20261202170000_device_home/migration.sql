-- CreateTable
CREATE TABLE "DeviceHome" (
    "deviceId" TEXT NOT NULL,
    "region" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DeviceHome_pkey" PRIMARY KEY ("deviceId")
);

-- CreateIndex
CREATE INDEX "DeviceHome_region_idx" ON "DeviceHome"("region");

