-- AlterTable
ALTER TABLE "Event" DROP CONSTRAINT "Event_pkey",
ALTER COLUMN "seq" SET DATA TYPE BIGINT,
ADD CONSTRAINT "Event_pkey" PRIMARY KEY ("deviceId", "id");

