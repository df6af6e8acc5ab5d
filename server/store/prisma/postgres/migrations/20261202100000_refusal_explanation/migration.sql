-- AlterTable
ALTER TABLE "Refusal" ADD COLUMN     "explanation" TEXT;

-- CreateIndex
CREATE INDEX "Refusal_deviceId_id_idx" ON "Refusal"("deviceId", "id");

